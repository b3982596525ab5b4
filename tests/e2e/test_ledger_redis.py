"""Shared state for many replicas: two gateway processes on one Redis enforce one budget and one
rate limit for the whole fleet, not one per replica.

Prices (helpers.GOV_CATALOGS): `gov-model` costs 1000 nano-USD per input token and $0.001 per
output token. A call with `max_tokens=100` reserves 100 output tokens plus its body as input
(~$0.10015) and settles, with the mock reporting 20 prompt + 100 completion tokens, at exactly
$0.10002: a $1.05 budget holds exactly 10 such calls, fleet-wide.
"""

from __future__ import annotations

import asyncio
import json
import time

import openai
import pytest

from helpers import (
    VK_SEARCH,
    Cost,
    check_attrs,
    gov_cost_nano,
    gov_overrides,
    ledger_overrides,
    new_test_id,
    request_id,
)
from conftest import deep_merge

MESSAGES = [{"role": "user", "content": "Say hello."}]
USAGE_100 = json.dumps({"prompt": 20, "completion": 100})
COST_100 = gov_cost_nano(20, 100)  # 100_020_000 nano-USD
LIMIT_USD = 1.05
LIMIT_NANO = 1_050_000_000


def budget(id_: str, limit: float, **kw) -> dict:
    out = {"id": id_, "scope": {"team": "search"}, "limit_usd": limit, "period": "daily",
           "enforcement": "block"}
    out.update(kw)
    return out


def two_replicas(start_gateway, scripted_mock, redis_server, tmp_path, name: str, **gov):
    """Two gateway processes, same config, one Redis."""
    out = []
    for i in (1, 2):
        over = deep_merge(gov_overrides(scripted_mock.url, tmp_path / f"{name}-gov", **gov),
                          ledger_overrides("redis", redis_url=redis_server.url))
        out.append(start_gateway(over, name=f"{name}-{i}"))
    return out


def redis_budget(redis_server, budget_id: str) -> dict:
    keys = [k for k in redis_server.cli("KEYS", f"genops:budget:{budget_id}:*").splitlines() if k]
    assert len(keys) == 1, f"expected one budget hash for {budget_id}, Redis has {keys}"
    flat = redis_server.cli("HGETALL", keys[0]).splitlines()
    return {flat[i]: int(float(flat[i + 1])) for i in range(0, len(flat), 2)}


def test_two_replicas_share_one_budget(start_gateway, scripted_mock, otlp, redis_server, tmp_path):
    gw1, gw2 = two_replicas(start_gateway, scripted_mock, redis_server, tmp_path, "fleet-budget",
                            budgets=[budget("fleet", LIMIT_USD)])
    tid = new_test_id()
    clients = [openai.AsyncOpenAI(base_url=gw.base + "/openai/v1", api_key=VK_SEARCH, max_retries=0,
                                  timeout=60.0) for gw in (gw1, gw2)]

    async def one(i: int):
        client = clients[i % 2]
        try:
            raw = await client.chat.completions.with_raw_response.create(
                model="gov-model", messages=MESSAGES, max_tokens=100, stream=True,
                extra_headers={"x-test-id": tid, "x-mock-usage": USAGE_100, "x-mock-event-delay-ms": "60"})
        except openai.APIStatusError as e:
            return ("refused", e.status_code, request_id(e.response.headers), i % 2)
        text = ""
        async for chunk in raw.parse():
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
        return ("ok", text, request_id(raw.headers), i % 2)

    async def run_all():
        try:
            return await asyncio.gather(*(one(i) for i in range(64)))
        finally:
            for c in clients:
                await c.close()

    results = asyncio.run(run_all())
    ok = [r for r in results if r[0] == "ok"]
    refused = [r for r in results if r[0] == "refused"]
    per_replica = [sum(1 for r in ok if r[3] == k) for k in (0, 1)]
    assert {r[1] for r in refused} <= {402}, f"refusals other than 402: {[r[1] for r in refused]}"
    assert len(ok) == 10, (f"admitted {len(ok)} of 64 across both replicas (expected 10 fleet-wide; "
                           f"20 would mean one budget per replica); per replica {per_replica}")
    assert all(r[1] for r in ok), "every admitted stream delivered its text"
    assert len(scripted_mock.find(tid)) == 10

    total = 0.0
    for r in results:
        span = otlp.span_for_request(r[2], settle=0.0)
        if r[0] == "ok":
            check_attrs(span, {"genops.cost.total": Cost(COST_100)})
            total += span["attributes"]["genops.cost.total"]
        else:
            check_attrs(span, {"genops.policy.result": "blocked", "genops.policy.reason_code": "BUDGET_EXCEEDED"})
    assert total <= LIMIT_USD + 0.10015 + 1e-9, total

    # The shared counter in Redis: exactly the 10 settled calls, nothing left reserved.
    deadline = time.monotonic() + 5  # the last streams settle just after their responses went out
    while True:
        state = redis_budget(redis_server, "fleet")
        if state.get("consumed") == 10 * COST_100 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert state.get("consumed") == 10 * COST_100, state
    assert state.get("reserved", 0) == 0, state
    spend = [json.loads(m) for m in redis_server.cli("ZRANGE", "genops:spend", "0", "-1").splitlines() if m]
    ok_ids = {r[2] for r in ok}
    settled = [s for s in spend if s.get("request_id") in ok_ids]
    assert len(settled) == 10, f"spend records for the admitted calls: {len(settled)} (of {len(spend)} in genops:spend)"
    assert all(s.get("cost") == COST_100 for s in settled), settled

    # Both replicas see the fleet's spend: the next call is refused on either.
    for gw in (gw1, gw2):
        with pytest.raises(openai.APIStatusError) as ei:
            gw.openai(api_key=VK_SEARCH).chat.completions.create(
                model="gov-model", messages=MESSAGES, max_tokens=100,
                extra_headers={"x-mock-usage": USAGE_100})
        assert ei.value.status_code == 402
        assert "$1.00 of $1.05" in ei.value.body["message"], ei.value.body


def test_fleet_wide_rate_limit(start_gateway, scripted_mock, redis_server, tmp_path):
    gw1, gw2 = two_replicas(start_gateway, scripted_mock, redis_server, tmp_path, "fleet-rl",
                            rate_limits=[{"id": "fleet-rpm", "scope": {"team": "search"},
                                          "enforcement": "block", "requests_per_minute": 10}])
    clients = [gw.openai(api_key=VK_SEARCH) for gw in (gw1, gw2)]
    tid = new_test_id()
    admitted = [0, 0]
    statuses = []
    for i in range(30):
        try:
            clients[i % 2].chat.completions.create(
                model="gov-model", messages=MESSAGES, max_tokens=5, extra_headers={"x-test-id": tid})
            admitted[i % 2] += 1
            statuses.append(200)
        except openai.APIStatusError as e:
            statuses.append(e.status_code)
    total = sum(admitted)
    assert set(statuses) <= {200, 429}, statuses
    # GCRA at 10/min refills one request every 6 s: 30 quick calls admit 10, 11 at most.
    assert 10 <= total <= 11, (f"admitted {total} of 30 across both replicas (expected 10 fleet-wide; "
                               f"~20 would mean one limit per replica); per replica {admitted}; {statuses}")
    assert len(scripted_mock.find(tid)) == total
    assert statuses[:10] == [200] * 10, statuses
    keys = [k for k in redis_server.cli("KEYS", "genops:rl:*").splitlines() if k]
    assert any("fleet-rpm" in k for k in keys), f"no genops:rl:* key for the rule in Redis: {keys}"
