"""Budgets end to end: block and warn enforcement, reservations under concurrency, cut_stream,
and budget-driven model downgrade.

Prices (helpers.GOV_CATALOGS): `gov-model` costs 1000 nano-USD per input token and exactly
$0.001 per output token, so a call with `max_tokens=100` reserves about $0.10 and, when the mock
reports 20 prompt + 100 completion tokens, settles at exactly $0.10002.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import anthropic
import httpx
import openai
import pytest

from helpers import (
    NANO_PER_INPUT_TOKEN,
    NANO_PER_OUTPUT_TOKEN,
    PRESENT,
    VK_SEARCH,
    Cost,
    check_attrs,
    gov_cost_nano,
    gov_overrides,
    new_test_id,
    request_id,
)

MESSAGES = [{"role": "user", "content": "Say hello."}]
USAGE_100 = json.dumps({"prompt": 20, "completion": 100})
COST_100 = gov_cost_nano(20, 100)  # 100_020_000 nano-USD


def budget(id_: str, limit: float, **kw) -> dict:
    out = {"id": id_, "scope": {"team": "search"}, "limit_usd": limit, "period": "daily",
           "enforcement": "block"}
    out.update(kw)
    return out


def start(start_gateway, scripted_mock, tmp_path, name: str, **kw):
    return start_gateway(gov_overrides(scripted_mock.url, tmp_path / f"{name}-gov", **kw), name=name)


def events_named(span: dict, name: str) -> list[dict]:
    return [e for e in span["events"] if e["name"] == name]


def approx(want: float, tol: float = 1e-9):
    return lambda got: isinstance(got, float) and abs(got - want) <= tol


def next_utc_midnight() -> str:
    tomorrow = datetime.now(timezone.utc).date() + timedelta(days=1)
    return f"{tomorrow.isoformat()}T00:00:00Z"


def admin_budget(gw, budget_id: str) -> dict:
    r = httpx.get(gw.admin + "/admin/budgets", headers={"authorization": "Bearer test-admin-token"})
    assert r.status_code == 200, r.text
    found = [b for b in r.json()["budgets"] if b["id"] == budget_id]
    assert len(found) == 1, r.json()
    return found[0]


def call_100(client, tid: str, **extra):
    return client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=100,
        extra_headers={"x-test-id": tid, "x-mock-usage": USAGE_100, **extra})


# ---- 3. block, warn, span attributes and events -------------------------------------------------

def test_block_budget_refuses_with_402_and_records_spend(start_gateway, scripted_mock, otlp, tmp_path):
    gw = start(start_gateway, scripted_mock, tmp_path, "budget-block",
               budgets=[budget("search-daily", 0.25, alert_at=[0.5, 1.0])])
    client = gw.openai(api_key=VK_SEARCH)

    # Call 1: admitted, settles at exactly $0.10002.
    tid1 = new_test_id()
    raw1 = call_100(client, tid1)
    assert raw1.http_response.status_code == 200
    assert raw1.headers.get("x-genops-policy-result") == "allowed"
    body_len = len(scripted_mock.one(tid1).body)
    reserved_nano = body_len * NANO_PER_INPUT_TOKEN + 100 * NANO_PER_OUTPUT_TOKEN
    span1 = otlp.span_for_request(request_id(raw1.headers))
    check_attrs(span1, {
        "genops.policy.result": "allowed",
        "genops.cost.total": Cost(COST_100),
        "genops.budget.id": "search-daily",
        "genops.budget.limit": approx(0.25),
        "genops.budget.consumed": Cost(COST_100),
        "genops.budget.remaining": Cost(250_000_000 - COST_100),
        "genops.budget.period": "daily",
        "genops.accounting.reserved": Cost(reserved_nano),
        "genops.accounting.actual": Cost(COST_100),
        "genops.accounting.unit": "USD",
    })
    assert len(events_named(span1, "genops.budget.reservation")) == 1, span1["events"]
    rec_events = events_named(span1, "genops.budget.reconciliation")
    assert len(rec_events) == 1, span1["events"]
    assert Cost(COST_100).matches(rec_events[0]["attributes"].get("genops.accounting.actual"))
    assert events_named(span1, "genops.budget.alert") == [], "0.4 of the budget crosses no threshold"

    # Call 2: consumed goes to $0.20004 (80 %), crossing the 0.5 threshold.
    tid2 = new_test_id()
    raw2 = call_100(client, tid2)
    span2 = otlp.span_for_request(request_id(raw2.headers))
    check_attrs(span2, {"genops.budget.consumed": Cost(2 * COST_100),
                        "genops.budget.remaining": Cost(250_000_000 - 2 * COST_100)})
    alerts = events_named(span2, "genops.budget.alert")
    assert len(alerts) == 1, span2["events"]
    a = alerts[0]["attributes"]
    assert a.get("genops.budget.id") == "search-daily"
    assert a.get("genops.budget.threshold") == 0.5

    # Call 3: a worst case of ~$0.10 does not fit the remaining $0.04996: 402, nothing upstream.
    tid3 = new_test_id()
    with pytest.raises(openai.APIStatusError) as ei:
        call_100(client, tid3)
    err = ei.value
    assert err.status_code == 402
    assert isinstance(err.body, dict) and err.body.get("code") == "budget_exceeded", err.body
    assert err.body.get("type") == "budget_exceeded", err.body
    msg = err.body["message"]
    assert msg == f"budget search-daily: $0.20 of $0.25 spent today; resets {next_utc_midnight()}", msg
    assert scripted_mock.find(tid3) == []
    assert err.response.headers.get("x-genops-policy-result") == "blocked"
    assert err.response.headers.get("x-genops-policy-name") == "search-daily"
    span3 = otlp.span_for_request(request_id(err.response.headers))  # exactly one span
    check_attrs(span3, {
        "genops.policy.result": "blocked",
        "genops.policy.reason_code": "BUDGET_EXCEEDED",
        "genops.policy.name": "search-daily",
        "error.type": "budget_exceeded",
        "http.response.status_code": 402,
    })
    assert span3["status"]["code"] == "ERROR"


def test_refused_call_span_names_the_budget(start_gateway, scripted_mock, otlp, tmp_path):
    # telemetry.md: genops.budget.* "when a budget applies"; it applied to the refusal above all.
    gw = start(start_gateway, scripted_mock, tmp_path, "budget-refused-span", budgets=[budget("tiny", 0.05)])
    with pytest.raises(openai.APIStatusError) as ei:
        call_100(gw.openai(api_key=VK_SEARCH), new_test_id())
    assert ei.value.status_code == 402
    span = otlp.span_for_request(request_id(ei.value.response.headers))
    check_attrs(span, {"genops.budget.id": "tiny", "genops.budget.limit": approx(0.05),
                       "genops.budget.consumed": approx(0.0), "genops.budget.period": "daily"})


def test_refused_call_span_has_a_decision_time(start_gateway, scripted_mock, otlp, tmp_path):
    # telemetry.md: genops.policy.response_time "always": the time spent deciding, refusals included.
    gw = start(start_gateway, scripted_mock, tmp_path, "budget-refused-time", budgets=[budget("tiny2", 0.05)])
    with pytest.raises(openai.APIStatusError) as ei:
        call_100(gw.openai(api_key=VK_SEARCH), new_test_id())
    span = otlp.span_for_request(request_id(ei.value.response.headers))
    check_attrs(span, {"genops.policy.response_time": lambda v: isinstance(v, float) and v > 0.0})


def test_admin_budgets_reports_consumed_and_reserved(start_gateway, scripted_mock, tmp_path):
    gw = start(start_gateway, scripted_mock, tmp_path, "budget-admin", budgets=[budget("adm", 0.25)])
    call_100(gw.openai(api_key=VK_SEARCH), new_test_id())
    b = admin_budget(gw, "adm")
    assert abs(b["consumed_usd"] - COST_100 / 1e9) < 1e-9, b
    assert abs(b["reserved_usd"]) < 1e-12, b
    assert abs(b["remaining_usd"] - (0.25 - COST_100 / 1e9)) < 1e-9, b
    assert b["limit_usd"] == 0.25 and b["period"] == "daily", b
    assert b["resets_at"] == next_utc_midnight(), b


def test_a_smaller_call_still_fits_after_a_refusal(start_gateway, scripted_mock, otlp, tmp_path):
    # A refused reservation holds nothing: a call that fits the rest is admitted right after.
    gw = start(start_gateway, scripted_mock, tmp_path, "budget-rest", budgets=[budget("b", 0.15)])
    client = gw.openai(api_key=VK_SEARCH)
    call_100(client, new_test_id())
    with pytest.raises(openai.APIStatusError) as ei:
        call_100(client, new_test_id())
    assert ei.value.status_code == 402
    tid = new_test_id()
    raw = client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=10,
        extra_headers={"x-test-id": tid, "x-mock-usage": json.dumps({"prompt": 20, "completion": 10})})
    assert raw.http_response.status_code == 200
    scripted_mock.one(tid)


def test_warn_budget_forwards_with_warning_headers(start_gateway, scripted_mock, otlp, tmp_path):
    gw = start(start_gateway, scripted_mock, tmp_path, "budget-warn",
               budgets=[budget("search-soft", 0.15, enforcement="warn")])
    client = gw.openai(api_key=VK_SEARCH)
    first = call_100(client, new_test_id())
    assert first.headers.get("x-genops-policy-result") == "allowed"
    tid = new_test_id()
    raw = call_100(client, tid)
    assert raw.http_response.status_code == 200
    assert raw.headers.get("x-genops-policy-result") == "warning"
    assert raw.headers.get("x-genops-policy-name") == "search-soft"
    assert "search-soft" in (raw.headers.get("x-genops-policy-reason") or "")
    scripted_mock.one(tid)
    span = otlp.span_for_request(request_id(raw.headers))
    check_attrs(span, {
        "genops.policy.result": "warning",
        "genops.policy.name": "search-soft",
        "genops.policy.reason_code": "BUDGET_EXCEEDED",
        "genops.policy.reason": PRESENT,
        "genops.cost.total": Cost(COST_100),
        "genops.budget.id": "search-soft",
        "genops.budget.consumed": Cost(2 * COST_100),
        "genops.accounting.actual": Cost(COST_100),
    })
    assert span["status"]["code"] != "ERROR"


# ---- 4. concurrency: reservations, not check-then-spend -----------------------------------------

def test_64_parallel_streams_admit_only_what_the_budget_holds(start_gateway, scripted_mock, otlp, tmp_path):
    # Each stream reserves ~$0.10015 (100 output tokens + the body as input) and settles at exactly
    # $0.10002: a $1.05 budget holds 10 of them, whatever the timing.
    gw = start(start_gateway, scripted_mock, tmp_path, "budget-concurrency",
               budgets=[budget("burst", 1.05)])
    tid = new_test_id()
    client = openai.AsyncOpenAI(base_url=gw.base + "/openai/v1", api_key=VK_SEARCH, max_retries=0,
                                timeout=60.0)

    async def one(i: int):
        try:
            raw = await client.chat.completions.with_raw_response.create(
                model="gov-model", messages=MESSAGES, max_tokens=100, stream=True,
                extra_headers={"x-test-id": tid, "x-mock-usage": USAGE_100, "x-mock-event-delay-ms": "60"})
        except openai.APIStatusError as e:
            return ("refused", e.status_code, request_id(e.response.headers))
        stream = raw.parse()
        text = ""
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
        return ("ok", text, request_id(raw.headers))

    async def run_all():
        try:
            return await asyncio.gather(*(one(i) for i in range(64)))
        finally:
            await client.close()

    results = asyncio.run(run_all())
    ok = [r for r in results if r[0] == "ok"]
    refused = [r for r in results if r[0] == "refused"]
    assert {r[1] for r in refused} <= {402}, results
    assert len(ok) == 10, f"admitted {len(ok)} of 64 (expected 10); refused statuses {[r[1] for r in refused]}"
    assert all(r[1] for r in ok), "every admitted stream delivered its text"
    assert len(scripted_mock.find(tid)) == 10

    total = 0.0
    for r in results:
        span = otlp.span_for_request(r[2], settle=0.0)
        if r[0] == "ok":
            check_attrs(span, {"genops.cost.total": Cost(COST_100), "genops.accounting.actual": Cost(COST_100)})
            total += span["attributes"]["genops.cost.total"]
        else:
            check_attrs(span, {"genops.policy.result": "blocked", "genops.policy.reason_code": "BUDGET_EXCEEDED"})
    assert total <= 1.05 + 1e-9, total
    # Nothing is left reserved: the next call sees exactly the 10 settled calls.
    with pytest.raises(openai.APIStatusError) as ei:
        call_100(gw.openai(api_key=VK_SEARCH), new_test_id())
    assert ei.value.status_code == 402
    assert "$1.00 of $1.05" in ei.value.body["message"], ei.value.body


# ---- 5. cut_stream ------------------------------------------------------------------------------

def test_cut_stream_admits_a_partial_reservation_and_ends_the_stream(start_gateway, scripted_mock, otlp, tmp_path):
    # $0.50 left; the worst case (1000 output tokens = $1.00) does not fit, 256 tokens do: the
    # stream is admitted and ended once ~500 tokens' worth of text (3 chars a token) has passed.
    gw = start(start_gateway, scripted_mock, tmp_path, "budget-cut",
               budgets=[budget("cut", 0.5, on_exhausted="cut_stream")])
    client = gw.openai(api_key=VK_SEARCH)
    tid = new_test_id()
    piece = "abcdefghij" * 5  # 50 chars a delta, 100 deltas: 5000 chars (~1667 estimated tokens)
    raw = client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=1000, stream=True,
        extra_headers={"x-test-id": tid, "x-mock-deltas": json.dumps([piece]), "x-mock-repeat": "100",
                       "x-mock-event-delay-ms": "2"})
    assert raw.http_response.status_code == 200
    text = ""
    with pytest.raises(openai.APIError) as ei:
        for chunk in raw.parse():
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
    assert not isinstance(ei.value, openai.APIConnectionError), "ended cleanly, not a broken connection"
    assert 0 < len(text) < 5000, len(text)
    # $0.50 buys 500 output tokens = 1500 estimated chars; checks every 256 chars, one delta late.
    assert len(text) <= 1500 + 256 + len(piece), len(text)
    span = otlp.span_for_request(request_id(raw.headers))
    check_attrs(span, {"genops.stream.terminated": "budget_exhausted", "genops.budget.id": "cut",
                       "genops.accounting.actual": PRESENT,
                       "genops.budget.consumed": lambda v: isinstance(v, float) and 0 < v <= 0.5 + 1e-9})


def test_cut_stream_anthropic_ends_with_an_error_event(start_gateway, scripted_mock, otlp, tmp_path):
    # claude-sonnet-4-5 (test catalog): $15 per million output tokens. $0.01 holds 256 output
    # tokens ($0.00384) but not 1000 ($0.015): admitted, then cut after ~660 tokens (~2000 chars).
    gw = start(start_gateway, scripted_mock, tmp_path, "budget-cut-anth",
               budgets=[budget("cut-a", 0.01, on_exhausted="cut_stream")])
    tid = new_test_id()
    piece = "abcdefghij" * 5
    text = ""
    with pytest.raises(anthropic.APIError) as ei:
        with gw.anthropic(api_key=VK_SEARCH).messages.stream(
                model="claude-sonnet-4-5", max_tokens=1000, messages=MESSAGES,
                extra_headers={"x-test-id": tid, "x-mock-deltas": json.dumps([piece]),
                               "x-mock-repeat": "100", "x-mock-event-delay-ms": "2"}) as stream:
            rid = stream.response.headers.get("x-genops-request-id")
            for t in stream.text_stream:
                text += t
    assert not isinstance(ei.value, anthropic.APIConnectionError), "ended cleanly, not a broken connection"
    assert 0 < len(text) < 5000, len(text)
    span = otlp.span_for_request(rid)
    check_attrs(span, {"genops.stream.terminated": "budget_exhausted", "genops.budget.id": "cut-a",
                       "genops.budget.consumed": lambda v: isinstance(v, float) and 0 < v <= 0.01 + 1e-12})


def test_cut_stream_budget_still_refuses_when_not_even_the_minimum_fits(start_gateway, scripted_mock, tmp_path):
    # $0.20 cannot hold 256 output tokens ($0.256): refused up front.
    gw = start(start_gateway, scripted_mock, tmp_path, "budget-cut-min",
               budgets=[budget("cut-min", 0.2, on_exhausted="cut_stream")])
    tid = new_test_id()
    with pytest.raises(openai.APIStatusError) as ei:
        gw.openai(api_key=VK_SEARCH).chat.completions.create(
            model="gov-model", messages=MESSAGES, max_tokens=1000, stream=True,
            extra_headers={"x-test-id": tid})
    assert ei.value.status_code == 402
    assert scripted_mock.find(tid) == []


# ---- 8. budget-driven downgrade -----------------------------------------------------------------

def test_downgrade_past_threshold_swaps_the_model(start_gateway, scripted_mock, otlp, tmp_path):
    gw = start(start_gateway, scripted_mock, tmp_path, "budget-downgrade",
               budgets=[budget("dg", 1.0, downgrade={"at": 0.5, "models": {"gpt-4o": "gpt-4o-mini"}})])
    client = gw.openai(api_key=VK_SEARCH)

    def big(tid: str):
        return client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=MESSAGES, max_tokens=50,
            extra_headers={"x-test-id": tid, "x-mock-usage": json.dumps({"prompt": 20, "completion": 10})})

    # Below the threshold: gpt-4o goes through as asked.
    tid0 = new_test_id()
    raw0 = big(tid0)
    assert scripted_mock.one(tid0).json()["model"] == "gpt-4o"
    assert raw0.headers.get("x-genops-model-downgrade") is None
    # Drive the budget past half: two calls at $0.30002.
    for _ in range(2):
        client.chat.completions.create(
            model="gov-model", messages=MESSAGES, max_tokens=300,
            extra_headers={"x-mock-usage": json.dumps({"prompt": 20, "completion": 300})})
    tid = new_test_id()
    raw = big(tid)
    assert raw.http_response.status_code == 200
    assert raw.headers.get("x-genops-model-downgrade") == "gpt-4o -> gpt-4o-mini"
    assert scripted_mock.one(tid).json()["model"] == "gpt-4o-mini"
    assert raw.parse().model == "gpt-4o-mini-2024-07-18"
    span = otlp.span_for_request(request_id(raw.headers))
    check_attrs(span, {
        "genops.policy.result": "warning",
        "genops.policy.reason_code": "BUDGET_DOWNGRADE",
        "genops.policy.reason": lambda s: isinstance(s, str) and "gpt-4o" in s and "gpt-4o-mini" in s,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "genops.cost.total": Cost(gov_cost_nano(20, 10, "gpt-4o-mini")),
    })
    assert raw.headers.get("x-genops-policy-result") == "warning"
