"""Rate limits end to end: requests and tokens per minute, block and warn, OpenAI's header names."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from helpers import VK_INTERN, VK_SEARCH, check_attrs, gov_overrides, new_test_id, request_id

MESSAGES = [{"role": "user", "content": "Say hello."}]


def start(start_gateway, scripted_mock, tmp_path, name: str, limits: list):
    return start_gateway(gov_overrides(scripted_mock.url, tmp_path / f"{name}-gov", rate_limits=limits), name=name)


def rl(id_: str, **kw) -> dict:
    out = {"id": id_, "scope": {"team": "search"}, "enforcement": "block"}
    out.update(kw)
    return out


def chat(client, tid: str, **kw):
    return client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=kw.pop("max_tokens", 20),
        extra_headers={"x-test-id": tid, **kw.pop("headers", {})}, **kw)


def test_rpm_limit_refuses_the_fourth_call_with_429(start_gateway, scripted_mock, otlp, tmp_path):
    gw = start(start_gateway, scripted_mock, tmp_path, "rl-rpm", [rl("search-rpm", requests_per_minute=3)])
    client = gw.openai(api_key=VK_SEARCH)
    for remaining in (2, 1, 0):
        raw = chat(client, new_test_id())
        assert raw.http_response.status_code == 200
        assert raw.headers.get("x-ratelimit-limit-requests") == "3"
        assert raw.headers.get("x-ratelimit-remaining-requests") == str(remaining)
        assert raw.headers.get("x-genops-policy-result") == "allowed"
    tid = new_test_id()
    with pytest.raises(openai.RateLimitError) as ei:
        chat(client, tid)
    err = ei.value
    assert err.status_code == 429
    assert err.body.get("code") == "rate_limit_exceeded", err.body
    assert "search-rpm" in err.body.get("message", ""), err.body
    h = err.response.headers
    retry = h.get("retry-after")
    assert retry is not None and retry.isdigit() and 1 <= int(retry) <= 60, retry
    assert h.get("x-ratelimit-limit-requests") == "3"
    assert h.get("x-ratelimit-remaining-requests") == "0"
    assert h.get("x-genops-policy-name") == "search-rpm"
    assert scripted_mock.find(tid) == []
    span = otlp.span_for_request(request_id(h))  # exactly one span
    check_attrs(span, {
        "genops.policy.result": "rate_limited",
        "genops.policy.reason_code": "RATE_LIMITED",
        "genops.policy.name": "search-rpm",
        "http.response.status_code": 429,
        "error.type": lambda v: isinstance(v, str) and "rate" in v,
    })
    assert span["status"]["code"] == "ERROR"

    # The limit is per scope: another team's key is not limited.
    tid2 = new_test_id()
    raw = gw.openai(api_key=VK_INTERN).chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=5, extra_headers={"x-test-id": tid2})
    assert raw.http_response.status_code == 200
    assert raw.headers.get("x-ratelimit-limit-requests") is None
    scripted_mock.one(tid2)
    # http.md: `x-genops-policy-result: allowed | warning | blocked` (the span says rate_limited).
    assert h.get("x-genops-policy-result") == "blocked"


def test_rpm_limit_in_anthropic_format(start_gateway, scripted_mock, otlp, tmp_path):
    gw = start(start_gateway, scripted_mock, tmp_path, "rl-anth", [rl("search-rpm1", requests_per_minute=1)])
    client = gw.anthropic(api_key=VK_SEARCH)
    client.messages.create(model="claude-sonnet-4-5", max_tokens=16, messages=MESSAGES)
    tid = new_test_id()
    with pytest.raises(anthropic.RateLimitError) as ei:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=16, messages=MESSAGES,
                               extra_headers={"x-test-id": tid})
    assert ei.value.status_code == 429
    assert ei.value.body["error"]["type"] == "rate_limit_error", ei.value.body
    assert ei.value.response.headers.get("retry-after")
    assert scripted_mock.find(tid) == []


def test_warn_rate_limit_forwards_with_warning_headers(start_gateway, scripted_mock, otlp, tmp_path):
    gw = start(start_gateway, scripted_mock, tmp_path, "rl-warn",
               [rl("search-soft-rpm", requests_per_minute=1, enforcement="warn")])
    client = gw.openai(api_key=VK_SEARCH)
    first = chat(client, new_test_id())
    assert first.headers.get("x-genops-policy-result") == "allowed"
    tid = new_test_id()
    raw = chat(client, tid)
    assert raw.http_response.status_code == 200
    assert raw.headers.get("x-genops-policy-result") == "warning"
    assert raw.headers.get("x-genops-policy-name") == "search-soft-rpm"
    assert raw.headers.get("x-genops-policy-reason")
    scripted_mock.one(tid)
    span = otlp.span_for_request(request_id(raw.headers))
    check_attrs(span, {"genops.policy.result": "warning", "genops.policy.name": "search-soft-rpm",
                       "genops.policy.reason_code": "RATE_LIMITED", "http.response.status_code": 200})


def test_tpm_limit_counts_tokens(start_gateway, scripted_mock, otlp, tmp_path):
    # Each call may use ~400 tokens (max_tokens) and does use 400 (20 prompt + 380 completion): the
    # third call's estimate no longer fits 1000 tokens a minute.
    gw = start(start_gateway, scripted_mock, tmp_path, "rl-tpm", [rl("search-tpm", tokens_per_minute=1000)])
    client = gw.openai(api_key=VK_SEARCH)
    usage = json.dumps({"prompt": 20, "completion": 380})
    for _ in range(2):
        raw = chat(client, new_test_id(), max_tokens=400, headers={"x-mock-usage": usage})
        assert raw.http_response.status_code == 200
        assert raw.headers.get("x-ratelimit-limit-tokens") == "1000"
        assert int(raw.headers.get("x-ratelimit-remaining-tokens")) < 1000
        assert raw.headers.get("x-ratelimit-limit-requests") is None
    tid = new_test_id()
    with pytest.raises(openai.RateLimitError) as ei:
        chat(client, tid, max_tokens=400, headers={"x-mock-usage": usage})
    h = ei.value.response.headers
    assert h.get("retry-after")
    assert h.get("x-ratelimit-limit-tokens") == "1000"
    assert int(h.get("x-ratelimit-remaining-tokens")) < 425
    assert scripted_mock.find(tid) == []
    span = otlp.span_for_request(request_id(h))
    check_attrs(span, {"genops.policy.result": "rate_limited", "genops.policy.reason_code": "RATE_LIMITED"})


def test_tpm_actual_usage_gives_back_unused_tokens(start_gateway, scripted_mock, tmp_path):
    # A call that asks for 400 but uses 30 tokens holds only 30 afterwards: many such calls fit.
    gw = start(start_gateway, scripted_mock, tmp_path, "rl-tpm-back", [rl("search-tpm2", tokens_per_minute=1000)])
    client = gw.openai(api_key=VK_SEARCH)
    usage = json.dumps({"prompt": 20, "completion": 10})
    for _ in range(6):
        raw = chat(client, new_test_id(), max_tokens=400, headers={"x-mock-usage": usage})
        assert raw.http_response.status_code == 200
