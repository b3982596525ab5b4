"""Redis outages: `ledger.on_unavailable: fail_closed` refuses metered calls with a 503 in the
provider's format while the store is down; `fail_open` serves them with a `ledger` warning. Either
way the gateway recovers by itself once Redis is back (same port), without a restart.
"""

from __future__ import annotations

import json
import time

import anthropic
import openai
import pytest

from conftest import deep_merge
from helpers import VK_SEARCH, gov_overrides, ledger_overrides, new_test_id

MESSAGES = [{"role": "user", "content": "Say hello."}]
USAGE = json.dumps({"prompt": 20, "completion": 10})
RECOVERY_S = 10.0  # "within a few seconds"; the assertion message reports the time it took
REFUSAL_S = 5.0  # a refusal during the outage must not hang on the dead store


def governance(kind: str) -> dict:
    if kind == "budget":
        return {"budgets": [{"id": "outage-b", "scope": {"team": "search"}, "limit_usd": 100.0,
                             "period": "daily", "enforcement": "block"}]}
    return {"rate_limits": [{"id": "outage-rl", "scope": {"team": "search"}, "enforcement": "block",
                             "requests_per_minute": 100000}]}


def start(start_gateway, scripted_mock, redis_server, tmp_path, name: str, mode: str, kind: str):
    over = deep_merge(gov_overrides(scripted_mock.url, tmp_path / f"{name}-gov", **governance(kind)),
                      ledger_overrides("redis", redis_url=redis_server.url, on_unavailable=mode))
    return start_gateway(over, name=name)


def chat(gw, tid: str, stream: bool = False):
    client = gw.openai(api_key=VK_SEARCH)
    raw = client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=10, stream=stream,
        extra_headers={"x-test-id": tid, "x-mock-usage": USAGE})
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    else:
        text = raw.parse().choices[0].message.content
    assert text
    return raw


def messages(gw, tid: str):
    client = gw.anthropic(api_key=VK_SEARCH)
    raw = client.messages.with_raw_response.create(
        model="claude-sonnet-4-5", max_tokens=16, messages=MESSAGES, extra_headers={"x-test-id": tid})
    assert raw.parse().content
    return raw


def wait_until_served(gw, scripted_mock) -> float:
    """Calls until one is served normally; returns the seconds it took."""
    t0 = time.monotonic()
    last: object = None
    while time.monotonic() - t0 < RECOVERY_S:
        try:
            raw = chat(gw, new_test_id())
            if raw.headers.get("x-genops-policy-result") == "allowed":
                return time.monotonic() - t0
            last = raw.headers.get("x-genops-policy-result")
        except openai.APIStatusError as e:
            last = (e.status_code, e.body)
        time.sleep(0.2)
    pytest.fail(f"calls not served normally {RECOVERY_S}s after Redis came back; last: {last!r}")


@pytest.mark.parametrize("kind", ["budget", "rate_limit"])
def test_fail_closed_refuses_with_503_then_recovers(start_gateway, scripted_mock, redis_server, tmp_path, kind):
    gw = start(start_gateway, scripted_mock, redis_server, tmp_path, f"closed-{kind}", "fail_closed", kind)
    assert chat(gw, new_test_id()).headers.get("x-genops-policy-result") == "allowed"
    assert messages(gw, new_test_id()).headers.get("x-genops-policy-result") == "allowed"

    redis_server.stop()
    for stream in (False, True):
        tid = new_test_id()
        t0 = time.monotonic()
        with pytest.raises(openai.APIStatusError) as ei:
            chat(gw, tid, stream=stream)
        took = time.monotonic() - t0
        err = ei.value
        assert err.status_code == 503, (err.status_code, err.body)
        assert isinstance(err.body, dict) and isinstance(err.body.get("message"), str), err.body
        assert err.body.get("type"), err.body
        assert err.response.headers.get("x-genops-policy-result") == "blocked"
        # Budgets name the store `ledger`; the rate limiter (same Redis) currently says `rate_limits`.
        assert err.response.headers.get("x-genops-policy-name") in (
            ("ledger",) if kind == "budget" else ("ledger", "rate_limits")), dict(err.response.headers)
        assert scripted_mock.find(tid) == [], "a refused call must not reach the provider"
        assert took < REFUSAL_S, f"refusal took {took:.1f}s"
    tid = new_test_id()
    with pytest.raises(anthropic.APIStatusError) as ei:
        messages(gw, tid)
    err = ei.value
    assert err.status_code == 503, (err.status_code, err.body)
    assert isinstance(err.body, dict) and err.body.get("type") == "error", err.body
    assert isinstance(err.body.get("error"), dict) and err.body["error"].get("type"), err.body
    assert isinstance(err.body["error"].get("message"), str), err.body
    assert scripted_mock.find(tid) == []

    redis_server.start()
    took = wait_until_served(gw, scripted_mock)
    assert gw.proc.poll() is None
    assert chat(gw, new_test_id(), stream=True).headers.get("x-genops-policy-result") == "allowed"
    assert messages(gw, new_test_id()).headers.get("x-genops-policy-result") == "allowed"
    print(f"fail_closed/{kind}: served again {took:.2f}s after Redis came back")


@pytest.mark.parametrize("kind", ["budget", "rate_limit"])
def test_fail_open_serves_with_a_ledger_warning_then_recovers(start_gateway, scripted_mock, redis_server, tmp_path, kind):
    gw = start(start_gateway, scripted_mock, redis_server, tmp_path, f"open-{kind}", "fail_open", kind)
    assert chat(gw, new_test_id()).headers.get("x-genops-policy-result") == "allowed"

    redis_server.stop()
    for stream in (False, True):
        tid = new_test_id()
        t0 = time.monotonic()
        raw = chat(gw, tid, stream=stream)
        took = time.monotonic() - t0
        assert raw.http_response.status_code == 200
        assert raw.headers.get("x-genops-policy-result") == "warning", dict(raw.headers)
        assert raw.headers.get("x-genops-policy-name") == "ledger", dict(raw.headers)
        assert len(scripted_mock.find(tid)) == 1
        assert took < REFUSAL_S, f"call took {took:.1f}s"
    raw = messages(gw, new_test_id())
    assert raw.headers.get("x-genops-policy-result") == "warning"
    assert raw.headers.get("x-genops-policy-name") == "ledger"

    redis_server.start()
    took = wait_until_served(gw, scripted_mock)
    assert gw.proc.poll() is None
    assert messages(gw, new_test_id()).headers.get("x-genops-policy-result") == "allowed"
    print(f"fail_open/{kind}: served normally {took:.2f}s after Redis came back")
