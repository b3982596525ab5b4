//! Telemetry against a real OTLP/HTTP receiver: span shape, metric names and temporality,
//! Datadog wiring, drops under a dead collector, and the Prometheus page.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::KeyValue as ProtoKv;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use super::test_receiver::Receiver;
use super::*;
use crate::config::schema::{BatchConfig, TelemetryConfig};
use crate::governance::context::GovernanceContext;
use crate::metering::{ReportedUsage, TokenCounts, TokenSource};
use crate::provider::{Operation, ProviderKind};
use crate::record::{
    BudgetSnapshot, CallEvent, CallRecord, CostBreakdown, EvalOutcome, EventValue, PolicyOutcome,
    PolicyResult,
};

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn settings_for(receiver: &Receiver) -> TelemetrySettings {
    let mut headers = BTreeMap::new();
    headers.insert("x-test-header".to_string(), "yes".to_string());
    TelemetrySettings {
        service_name: "gw-test".into(),
        environment: Some("test".into()),
        exporter: ExporterKind::Otlp,
        endpoints: Some(ExportEndpoints::otlp(&receiver.base_url(), &headers)),
        resource_attributes: vec![("team.owner".into(), "platform".into())],
        batch: BatchConfig {
            max_queue: 64,
            max_batch: 16,
            interval_ms: 50,
        },
        metrics_interval: Duration::from_millis(200),
        ..TelemetrySettings::none()
    }
}

fn rich_record(start: SystemTime) -> CallRecord {
    let mut r = CallRecord::new(
        "req-123".into(),
        start,
        "POST".into(),
        "/openai/v1/chat/completions".into(),
    );
    r.end = start + Duration::from_millis(1500);
    r.status = 200;
    r.provider_name = Some("openai".into());
    r.provider_kind = Some(ProviderKind::Openai);
    r.operation = Operation::ChatCompletions;
    r.server_address = Some("api.openai.com".into());
    r.server_port = Some(443);
    r.request.model = Some("gpt-4o-mini".into());
    r.request.stream = true;
    r.request.max_tokens = Some(256);
    r.request.temperature = Some(0.2);
    r.request.top_p = Some(0.9);
    r.response.response_id = Some("chatcmpl-1".into());
    r.response.response_model = Some("gpt-4o-mini-2024-07-18".into());
    r.response.finish_reasons = vec!["stop".into()];
    r.response.usage = ReportedUsage {
        input_tokens: Some(120),
        output_tokens: Some(30),
        cache_read_input_tokens: Some(20),
        cache_creation_input_tokens: None,
        reasoning_output_tokens: Some(0),
    };
    r.tokens = Some(TokenCounts {
        input: 120,
        output: 30,
        cache_read_input: 20,
        cache_creation_input: 0,
        reasoning_output: 0,
        source: TokenSource::Usage,
    });
    r.cost = Some(CostBreakdown {
        input: 18_000,
        output: 18_000,
        price_provider: "openai".into(),
        price_model: "gpt-4o-mini".into(),
    });
    r.governance = GovernanceContext {
        key_name: Some("ci-key".into()),
        team: Some("search".into()),
        project: Some("ranker".into()),
        customer_id: Some("cust-9".into()),
        cost_center: Some("cc-1".into()),
        feature: Some("summaries".into()),
        environment: Some("prod".into()),
    };
    r.policy = PolicyOutcome {
        result: PolicyResult::Warning,
        name: Some("pii-guard".into()),
        reason: Some("email address in prompt".into()),
        reason_code: Some("POLICY_DENY_CONTENT".into()),
        response_time: Duration::from_micros(250),
    };
    r.budget = Some(BudgetSnapshot {
        id: "team-search-monthly".into(),
        period: "monthly".into(),
        limit: 100_000_000_000,
        consumed: 40_000_000_000,
        remaining: 60_000_000_000,
    });
    r.reserved = Some(50_000);
    r.settled = Some(36_000);
    r.eval = EvalOutcome {
        performed: true,
        safety: Some(0.8),
        compliance: Some(0.9),
        findings: vec!["pii.email".into()],
    };
    r.time_to_first_chunk = Some(Duration::from_millis(250));
    r.events = vec![CallEvent {
        name: "genops.budget.alert",
        time: start + Duration::from_millis(1400),
        attributes: vec![
            (
                "genops.budget.id",
                EventValue::Str("team-search-monthly".into()),
            ),
            ("genops.budget.threshold", EventValue::Float(0.4)),
            ("genops.budget.crossed", EventValue::Bool(true)),
            ("genops.budget.calls", EventValue::Int(7)),
        ],
    }];
    r
}

fn attrs(kvs: &[ProtoKv]) -> HashMap<String, Any> {
    kvs.iter()
        .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?.value?)))
        .collect()
}

fn s(v: &str) -> Any {
    Any::StringValue(v.into())
}

fn string_array(value: &Any) -> Vec<String> {
    match value {
        Any::ArrayValue(array) => array
            .values
            .iter()
            .map(|v| match &v.value {
                Some(Any::StringValue(s)) => s.clone(),
                other => panic!("not a string: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn f(map: &HashMap<String, Any>, key: &str) -> f64 {
    match map.get(key) {
        Some(Any::DoubleValue(v)) => *v,
        other => panic!("{key}: expected double, got {other:?}"),
    }
}

#[test]
fn span_and_metrics_reach_an_otlp_receiver() {
    let receiver = Receiver::start();
    let telemetry = Telemetry::init(&settings_for(&receiver)).unwrap();
    let start = SystemTime::now() - Duration::from_secs(2);
    let span = telemetry.start_call(Some(PARENT), start);
    let forwarded = span.traceparent().unwrap();
    assert!(forwarded.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    assert!(forwarded.ends_with("-01"));
    assert_ne!(span.span_id_hex(), "00f067aa0ba902b7");
    let span_id = span.span_id_hex();
    let record = rich_record(start);
    telemetry.finish_call(span, &record);
    telemetry.shutdown();

    let spans = receiver.spans();
    assert_eq!(spans.len(), 1, "exactly one span per call");
    let (request, span) = &spans[0];
    assert_eq!(span.name, "chat gpt-4o-mini");
    assert_eq!(span.kind, SpanKind::Client as i32);
    assert_eq!(
        hex::encode(&span.trace_id),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(hex::encode(&span.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(hex::encode(&span.span_id), span_id);
    assert_eq!(span.start_time_unix_nano, nanos(record.start));
    assert_eq!(span.end_time_unix_nano, nanos(record.end));
    // A warning is not an error.
    assert_ne!(
        span.status.as_ref().map(|s| s.code),
        Some(StatusCode::Error as i32)
    );

    let a = attrs(&span.attributes);
    let expect_str = [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.request.model", "gpt-4o-mini"),
        ("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
        ("gen_ai.response.id", "chatcmpl-1"),
        ("server.address", "api.openai.com"),
        ("http.request.method", "POST"),
        ("url.path", "/openai/v1/chat/completions"),
        ("genops.request_id", "req-123"),
        ("genops.team", "search"),
        ("genops.project", "ranker"),
        ("genops.environment", "prod"),
        ("genops.customer_id", "cust-9"),
        ("genops.cost_center", "cc-1"),
        ("genops.feature", "summaries"),
        ("genops.key.name", "ci-key"),
        ("genops.cost.currency", "USD"),
        ("genops.cost.provider", "openai"),
        ("genops.cost.model", "gpt-4o-mini"),
        ("genops.tokens.source", "usage"),
        ("genops.policy.result", "warning"),
        ("genops.policy.name", "pii-guard"),
        ("genops.policy.reason", "email address in prompt"),
        ("genops.policy.reason_code", "POLICY_DENY_CONTENT"),
        ("genops.budget.id", "team-search-monthly"),
        ("genops.budget.period", "monthly"),
        ("genops.accounting.unit", "USD"),
        ("genops.spec.version", "0.1.0"),
    ];
    for (key, value) in expect_str {
        assert_eq!(a.get(key), Some(&s(value)), "{key}");
    }
    let expect_int = [
        ("gen_ai.request.max_tokens", 256),
        ("gen_ai.usage.input_tokens", 120),
        ("gen_ai.usage.output_tokens", 30),
        ("gen_ai.usage.cache_read.input_tokens", 20),
        ("gen_ai.usage.reasoning.output_tokens", 0),
        ("server.port", 443),
        ("http.response.status_code", 200),
        ("genops.tokens.input", 120),
        ("genops.tokens.output", 30),
        ("genops.tokens.total", 150),
    ];
    for (key, value) in expect_int {
        assert_eq!(a.get(key), Some(&Any::IntValue(value)), "{key}");
    }
    assert!(!a.contains_key("gen_ai.usage.cache_creation.input_tokens"));
    let close = |key: &str, want: f64| {
        let got = f(&a, key);
        assert!((got - want).abs() < 1e-12, "{key}: {got} != {want}");
    };
    close("gen_ai.request.temperature", 0.2);
    close("gen_ai.request.top_p", 0.9);
    close("gen_ai.response.time_to_first_chunk", 0.25);
    close("gen_ai.cost.estimated_total", 0.000036);
    close("genops.cost.total", 0.000036);
    close("genops.cost.input", 0.000018);
    close("genops.cost.output", 0.000018);
    close("genops.policy.response_time", 0.25);
    close("genops.budget.limit", 100.0);
    close("genops.budget.consumed", 40.0);
    close("genops.budget.remaining", 60.0);
    close("genops.accounting.reserved", 0.00005);
    close("genops.accounting.actual", 0.000036);
    close("genops.eval.safety", 0.8);
    close("genops.eval.compliance", 0.9);
    assert_eq!(a.get("gen_ai.request.stream"), Some(&Any::BoolValue(true)));
    assert_eq!(a.get("genops.eval.performed"), Some(&Any::BoolValue(true)));
    assert_eq!(string_array(&a["gen_ai.response.finish_reasons"]), ["stop"]);
    assert_eq!(string_array(&a["genops.eval.findings"]), ["pii.email"]);
    assert!(!a.contains_key("error.type"));
    assert!(!a.contains_key("genops.stream.terminated"));

    assert_eq!(span.events.len(), 1);
    let event = &span.events[0];
    assert_eq!(event.name, "genops.budget.alert");
    assert_eq!(
        event.time_unix_nano,
        nanos(record.start + Duration::from_millis(1400))
    );
    let ea = attrs(&event.attributes);
    assert_eq!(ea.get("genops.budget.id"), Some(&s("team-search-monthly")));
    assert_eq!(
        ea.get("genops.budget.threshold"),
        Some(&Any::DoubleValue(0.4))
    );
    assert_eq!(ea.get("genops.budget.crossed"), Some(&Any::BoolValue(true)));
    assert_eq!(ea.get("genops.budget.calls"), Some(&Any::IntValue(7)));

    let resource = attrs(
        &request.resource_spans[0]
            .resource
            .as_ref()
            .unwrap()
            .attributes,
    );
    assert_eq!(resource.get("service.name"), Some(&s("gw-test")));
    assert_eq!(
        resource.get("service.version"),
        Some(&s(env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(
        resource.get("deployment.environment.name"),
        Some(&s("test"))
    );
    assert_eq!(resource.get("team.owner"), Some(&s("platform")));
    match resource.get("service.instance.id") {
        Some(Any::StringValue(id)) => assert_eq!(id.len(), 36),
        other => panic!("service.instance.id: {other:?}"),
    }

    let traces = receiver
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/traces")
        .unwrap();
    assert!(traces
        .headers
        .contains(&("x-test-header".to_string(), "yes".to_string())));
    assert!(traces.headers.contains(&(
        "content-type".to_string(),
        "application/x-protobuf".to_string()
    )));

    // Metrics: every name of telemetry.md this call touches, all delta.
    let metrics = receiver.metrics();
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    for name in [
        "genops.cost.total",
        "genops.tokens.input",
        "genops.tokens.output",
        "genops.tokens.total",
        "genops.operation.total",
        "genops.operation.success",
        "genops.operation.duration",
        "genops.policy.violation",
        "genops.policy.response_time",
        "genops.budget.consumed",
        "genops.budget.limit",
        "genops.budget.remaining",
        "genops.eval.safety",
        "genops.eval.performed",
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.time_to_first_chunk",
    ] {
        assert!(names.contains(&name), "missing metric {name}: {names:?}");
    }
    assert!(!names.contains(&"genops.operation.error"));
    for metric in &metrics {
        match &metric.data {
            Some(Data::Sum(sum)) => assert_eq!(
                sum.aggregation_temporality,
                AggregationTemporality::Delta as i32,
                "{}",
                metric.name
            ),
            Some(Data::Histogram(h)) => assert_eq!(
                h.aggregation_temporality,
                AggregationTemporality::Delta as i32,
                "{}",
                metric.name
            ),
            Some(Data::Gauge(_)) => assert!(metric.name.starts_with("genops.budget.")),
            other => panic!("{}: unexpected {other:?}", metric.name),
        }
    }
    let cost = metrics
        .iter()
        .find(|m| m.name == "genops.cost.total")
        .unwrap();
    assert_eq!(cost.unit, "USD");
    let Some(Data::Sum(sum)) = &cost.data else {
        panic!("cost is a sum")
    };
    let point = &sum.data_points[0];
    let tags = attrs(&point.attributes);
    assert_eq!(tags.get("genops.team"), Some(&s("search")));
    assert_eq!(tags.get("gen_ai.request.model"), Some(&s("gpt-4o-mini")));
    assert_eq!(tags.get("genops.policy.result"), Some(&s("warning")));
    assert!(!tags.contains_key("genops.customer_id"), "high cardinality");
    let violation = metrics
        .iter()
        .find(|m| m.name == "genops.policy.violation")
        .unwrap();
    let Some(Data::Sum(sum)) = &violation.data else {
        panic!("violation is a sum")
    };
    assert_eq!(
        attrs(&sum.data_points[0].attributes).get("genops.policy.name"),
        Some(&s("pii-guard"))
    );
    let usage = metrics
        .iter()
        .find(|m| m.name == "gen_ai.client.token.usage")
        .unwrap();
    let Some(Data::Histogram(h)) = &usage.data else {
        panic!("token usage is a histogram")
    };
    assert_eq!(h.data_points.len(), 2, "input and output");
    assert_eq!(h.data_points[0].explicit_bounds[..3], [1.0, 4.0, 16.0]);
    let types: Vec<Any> = h
        .data_points
        .iter()
        .map(|p| attrs(&p.attributes)["gen_ai.token.type"].clone())
        .collect();
    assert!(types.contains(&s("input")) && types.contains(&s("output")));
}

#[test]
fn refused_call_is_an_error_span_named_by_operation_only() {
    let receiver = Receiver::start();
    let telemetry = Telemetry::init(&settings_for(&receiver)).unwrap();
    let start = SystemTime::now();
    let span = telemetry.start_call(Some("garbage"), start);
    let mut r = CallRecord::new("req-9".into(), start, "POST".into(), "/v1/chat".into());
    r.end = start + Duration::from_millis(3);
    r.status = 402;
    r.operation = Operation::ChatCompletions;
    r.policy = PolicyOutcome {
        result: PolicyResult::Blocked,
        name: Some("team-budget".into()),
        reason: Some("monthly budget exhausted".into()),
        reason_code: Some("BUDGET_EXCEEDED".into()),
        response_time: Duration::from_micros(40),
    };
    telemetry.finish_call(span, &r);
    telemetry.shutdown();

    let spans = receiver.spans();
    assert_eq!(spans.len(), 1);
    let span = &spans[0].1;
    assert_eq!(span.name, "chat");
    assert!(
        span.parent_span_id.is_empty(),
        "bad traceparent starts a trace"
    );
    let status = span.status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "monthly budget exhausted");
    let a = attrs(&span.attributes);
    assert_eq!(a.get("error.type"), Some(&s("budget_exceeded")));
    assert_eq!(a.get("genops.policy.result"), Some(&s("blocked")));
    assert!(!a.contains_key("genops.cost.currency"), "not metered");
    assert!(!a.contains_key("genops.budget.id"));
    assert!(!a.contains_key("gen_ai.request.stream"));
    let names: Vec<String> = receiver.metrics().into_iter().map(|m| m.name).collect();
    assert!(names.contains(&"genops.operation.error".to_string()));
}

#[test]
fn unsampled_calls_still_count_in_metrics() {
    let receiver = Receiver::start();
    let settings = TelemetrySettings {
        sampling_rate: 0.0,
        ..settings_for(&receiver)
    };
    let telemetry = Telemetry::init(&settings).unwrap();
    let start = SystemTime::now();
    let span = telemetry.start_call(None, start);
    assert!(span.traceparent().unwrap().ends_with("-00"));
    telemetry.finish_call(span, &rich_record(start));
    telemetry.shutdown();
    assert!(receiver.spans().is_empty());
    let names: Vec<String> = receiver.metrics().into_iter().map(|m| m.name).collect();
    assert!(names.contains(&"genops.cost.total".to_string()));
}

#[test]
fn datadog_endpoints_and_headers() {
    let dd = ExportEndpoints::datadog("datadoghq.eu", "k123").unwrap();
    assert_eq!(dd.traces_url, "https://otlp.datadoghq.eu/v1/traces");
    assert_eq!(dd.metrics_url, "https://otlp.datadoghq.eu/v1/metrics");
    assert_eq!(dd.traces_headers["dd-api-key"], "k123");
    assert_eq!(dd.traces_headers["dd-otlp-source"], "llmobs");
    assert_eq!(dd.traces_headers["compute_stats"], "true");
    assert_eq!(dd.metrics_headers["dd-api-key"], "k123");
    let config: serde_json::Value =
        serde_json::from_str(&dd.metrics_headers["dd-otel-metric-config"]).unwrap();
    assert_eq!(config["resource_attributes_as_tags"], true);
    assert_eq!(config["histograms"]["mode"], "distributions");
    assert!(!dd.metrics_headers.contains_key("dd-otlp-source"));
    for site in DATADOG_OTLP_SITES {
        let e = ExportEndpoints::datadog(site, "k").unwrap();
        assert_eq!(e.traces_url, format!("https://otlp.{site}/v1/traces"));
    }
    assert!(matches!(
        ExportEndpoints::datadog("ddog-gov.com", "k"),
        Err(TelemetryError::UnsupportedDatadogSite(_))
    ));
}

#[test]
fn settings_resolve_config_and_environment() {
    let env: HashMap<&str, &str> = [
        ("DATADOG_API_KEY", "secret"),
        ("OTEL_SERVICE_NAME", "from-env"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "k8s.pod.name=gw-1,note=a%20b,broken",
        ),
    ]
    .into();
    let lookup = |k: &str| env.get(k).map(|v| v.to_string());
    let s = TelemetrySettings::from_config(&TelemetryConfig::default(), &lookup).unwrap();
    assert_eq!(s.exporter, ExporterKind::Datadog, "api key picks datadog");
    assert_eq!(s.service_name, "from-env");
    let e = s.endpoints.unwrap();
    assert_eq!(e.traces_url, "https://otlp.datadoghq.com/v1/traces");
    assert_eq!(
        s.resource_attributes,
        vec![
            ("k8s.pod.name".to_string(), "gw-1".to_string()),
            ("note".to_string(), "a b".to_string())
        ]
    );

    let nothing = |_: &str| None;
    let mut cfg = TelemetryConfig::default();
    let s = TelemetrySettings::from_config(&cfg, &nothing).unwrap();
    assert_eq!(s.exporter, ExporterKind::Otlp);
    assert_eq!(s.service_name, "genops-gateway");
    assert_eq!(
        s.endpoints.unwrap().traces_url,
        "http://127.0.0.1:4318/v1/traces"
    );
    cfg.otlp.endpoint = Some("http://collector:4318/".into());
    let s = TelemetrySettings::from_config(&cfg, &nothing).unwrap();
    assert_eq!(
        s.endpoints.unwrap().metrics_url,
        "http://collector:4318/v1/metrics"
    );
    cfg.exporter = Some(ExporterKind::Datadog);
    assert!(matches!(
        TelemetrySettings::from_config(&cfg, &nothing),
        Err(TelemetryError::MissingDatadogApiKey)
    ));
}

/// A collector that accepts connections and never answers: every export hangs until the
/// timeout, so a `finish_call` that waited on I/O would take at least that long.
fn hanging_collector() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

fn refused_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

/// Runs 1000 calls against `base` and returns (how long they took, spans counted as dropped
/// by reason, how long shutdown took).
fn thousand_calls(base: &str) -> (Duration, HashMap<String, f64>, Duration) {
    let settings = TelemetrySettings {
        exporter: ExporterKind::Otlp,
        endpoints: Some(ExportEndpoints::otlp(base, &BTreeMap::new())),
        batch: BatchConfig {
            max_queue: 8,
            max_batch: 4,
            interval_ms: 10,
        },
        export_timeout: Duration::from_millis(300),
        ..TelemetrySettings::none()
    };
    let telemetry = Telemetry::init(&settings).unwrap();
    let record = rich_record(SystemTime::now());
    let began = Instant::now();
    for _ in 0..1000 {
        let span = telemetry.start_call(Some(PARENT), record.start);
        telemetry.finish_call(span, &record);
    }
    let took = began.elapsed();
    let shutdown_began = Instant::now();
    telemetry.shutdown();
    let shutdown = shutdown_began.elapsed();
    let page = telemetry.render_prometheus();
    let mut dropped = HashMap::new();
    for line in page
        .lines()
        .filter(|l| l.starts_with("genops_telemetry_spans_dropped_total{"))
    {
        let reason = line.split('"').nth(1).unwrap().to_string();
        let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        dropped.insert(reason, value);
    }
    (took, dropped, shutdown)
}

#[test]
fn hanging_collector_never_slows_calls_and_drops_are_counted() {
    let (took, dropped, shutdown) = thousand_calls(&hanging_collector());
    // Loose bound for a debug build on a busy machine; one wait on the collector would be
    // 300 ms, and waiting per call would be minutes.
    assert!(took < Duration::from_secs(5), "1000 calls took {took:?}");
    assert!(
        shutdown < Duration::from_secs(12),
        "shutdown took {shutdown:?}"
    );
    let total: f64 = dropped.values().sum();
    assert_eq!(total, 1000.0, "every span is lost and counted: {dropped:?}");
    assert!(
        dropped.get("queue_full").copied().unwrap_or(0.0) > 900.0,
        "{dropped:?}"
    );
}

#[test]
fn refused_collector_failures_are_counted() {
    let (took, dropped, _) = thousand_calls(&refused_port());
    assert!(took < Duration::from_secs(5), "1000 calls took {took:?}");
    let total: f64 = dropped.values().sum();
    assert_eq!(total, 1000.0, "{dropped:?}");
    assert!(dropped.contains_key("export_failed"), "{dropped:?}");
}

#[test]
fn prometheus_page_has_the_metric_set() {
    let telemetry = Telemetry::disabled();
    let start = SystemTime::now();
    let span = telemetry.start_call(Some(PARENT), start);
    // Ids exist even with export off, for the upstream header and log correlation.
    let tp = span.traceparent().unwrap();
    assert!(tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    let (trace, id) = span.dd_ids();
    assert_eq!(trace, 0xa3ce929d0e0e4736);
    assert_eq!(format!("{id:016x}"), span.span_id_hex());
    assert!(!span.is_recording());
    telemetry.finish_call(span, &rich_record(start));
    telemetry.record_budget_gauges("org-daily", 50.0, 12.5, 37.5);
    let page = telemetry.render_prometheus();

    let sample = |prefix: &str| -> f64 {
        page.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no sample {prefix}\n{page}"))
    };
    assert!((sample("genops_cost_total{") - 0.000036).abs() < 1e-12);
    assert_eq!(sample("genops_operation_total{"), 1.0);
    assert_eq!(sample("genops_tokens_total{"), 150.0);
    assert_eq!(sample("genops_tokens_input_total{"), 120.0);
    assert_eq!(
        sample("genops_budget_remaining{genops_budget_id=\"org-daily\"}"),
        37.5
    );
    assert_eq!(sample("genops_operation_duration_milliseconds_count{"), 1.0);
    assert_eq!(
        sample("gen_ai_client_operation_duration_seconds_bucket{"),
        0.0,
        "first bucket (0.01 s) is empty for a 1.5 s call"
    );
    assert!(page.contains("# TYPE genops_cost counter"));
    assert!(page.contains("# TYPE gen_ai_client_token_usage histogram"));
    assert!(page.contains(r#"genops_team="search""#));
    assert!(page.contains(r#"gen_ai_token_type="output""#));
    assert!(page.contains(r#"genops_policy_name="pii-guard""#));
    assert!(!page.contains("cust-9"), "customer ids stay on spans");
    for line in page.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad value in {line}");
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad name {name}"
        );
    }
}

#[test]
fn client_chosen_tags_cannot_grow_series_without_bound() {
    let telemetry = Telemetry::disabled();
    let start = SystemTime::now();
    for i in 0..2100 {
        let mut r = CallRecord::new(format!("r{i}"), start, "POST".into(), "/v1".into());
        r.status = 404;
        r.request.model = Some(format!("made-up-{i}"));
        telemetry.finish_call(telemetry.start_call(None, start), &r);
    }
    let page = telemetry.render_prometheus();
    let overflow = page
        .lines()
        .find(|l| l.starts_with(r#"genops_operation_total{otel_metric_overflow="true"}"#))
        .unwrap_or_else(|| panic!("no overflow series"));
    assert!(overflow.ends_with(" 100"), "{overflow}");
}

#[test]
fn handles_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Telemetry>();
    send_sync::<CallSpan>();
}
