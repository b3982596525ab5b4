"""Metrics: the telemetry.md set, exported over OTLP with delta temporality and scraped from the
admin listener's /metrics in a format a real Prometheus parser accepts."""
import httpx
import openai
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from helpers import request_id

MSGS = [{"role": "user", "content": "Count my tokens."}]

# Every metric name telemetry.md lists; the OTLP export must carry each after traffic.
OTLP_METRICS = [
    "genops.cost.total",
    "genops.tokens.input",
    "genops.tokens.output",
    "genops.tokens.total",
    "genops.operation.total",
    "genops.operation.success",
    "genops.operation.duration",
    "genops.policy.response_time",
    "gen_ai.client.operation.duration",
    "gen_ai.client.token.usage",
    "gen_ai.client.operation.time_to_first_chunk",
]


def _traffic(gateway):
    client = gateway.openai()
    r = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MSGS, extra_headers={"x-genops-team": "metrics"})
    assert request_id(r.headers)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MSGS, stream=True, extra_headers={"x-genops-team": "metrics"})
    for _ in stream:
        pass
    try:
        gateway.openai(prefix="/nope/v1").chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    except openai.NotFoundError:
        pass


def test_otlp_metrics_are_delta_with_the_documented_names(gateway, otlp):
    _traffic(gateway)
    for name in OTLP_METRICS:
        found = otlp.wait_for_metric(name, timeout=15)
        for m in found:
            if m["type"] in ("sum", "histogram"):
                assert m["temporality"] == "DELTA", (name, m["temporality"])
    cost = otlp.wait_for_metric(
        "genops.cost.total",
        predicate=lambda m: any(p["attributes"].get("genops.team") == "metrics" for p in m["data_points"]))
    points = [p for m in cost for p in m["data_points"] if p["attributes"].get("genops.team") == "metrics"]
    assert sum(p["value"] for p in points) > 0
    for p in points:
        assert "genops.customer_id" not in p["attributes"]
        assert p["attributes"].get("gen_ai.provider.name") == "openai"


def test_prometheus_scrape_parses(gateway):
    _traffic(gateway)
    text = httpx.get(gateway.admin + "/metrics", timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert "genops_operation" in families or "genops_operation_total" in {
        s.name for f in families.values() for s in f.samples}
    samples = [s for f in families.values() for s in f.samples]
    names = {s.name for s in samples}
    for wanted in ("genops_cost_total", "genops_operation_total", "genops_tokens_input_total"):
        assert wanted in names, (wanted, sorted(names)[:50])
    teams = {s.labels.get("genops_team") for s in samples if s.name == "genops_cost_total"}
    assert "metrics" in teams
