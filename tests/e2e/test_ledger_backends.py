"""Budgets and rate limits behave the same on every ledger backend (`memory`, `embedded`,
`redis`), through the real binary: block at the limit, warn past it, concurrent reservations.

`gov-model` (helpers.GOV_CATALOGS): a call with `max_tokens=100` reserves ~$0.10015 and, with the
mock reporting 20 prompt + 100 completion tokens, settles at exactly $0.10002.
"""

from __future__ import annotations

import asyncio
import json
import time

import openai
import pytest

from conftest import deep_merge
from helpers import VK_INTERN, VK_SEARCH, gov_cost_nano, gov_overrides, ledger_overrides, new_test_id, sqlite_query

MESSAGES = [{"role": "user", "content": "Say hello."}]
USAGE_100 = json.dumps({"prompt": 20, "completion": 100})
COST_100 = gov_cost_nano(20, 100)

BACKENDS = ["memory", "embedded", "redis"]


def budget(id_: str, limit: float, **kw) -> dict:
    out = {"id": id_, "scope": {"team": "search"}, "limit_usd": limit, "period": "daily",
           "enforcement": "block"}
    out.update(kw)
    return out


def rl(id_: str, **kw) -> dict:
    out = {"id": id_, "scope": {"team": "search"}, "enforcement": "block"}
    out.update(kw)
    return out


class Store:
    """The backend under test and where its state can be read back."""

    def __init__(self, backend: str, tmp_path, request) -> None:
        self.backend = backend
        self.redis = request.getfixturevalue("redis_server") if backend == "redis" else None
        self.path = tmp_path / f"{backend}-ledger"
        self.db = self.path / "ledger.sqlite3"

    def overrides(self) -> dict:
        if self.backend == "redis":
            return ledger_overrides("redis", redis_url=self.redis.url)
        return ledger_overrides(self.backend, path=self.path)

    def consumed_nano(self, budget_id: str, want: int) -> int | None:
        """The stored consumed counter, polled until it is `want` (the gateway settles a call just
        after its response has gone out) or 5 s have passed; None for `memory`."""
        deadline = time.monotonic() + 5
        while True:
            got = self._consumed_nano(budget_id)
            if got is None or got == want or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def _consumed_nano(self, budget_id: str) -> int | None:
        """The budget's consumed counter as stored, or None for `memory` (nothing to read)."""
        if self.backend == "embedded":
            rows = sqlite_query(self.db, "SELECT consumed FROM budget_counters WHERE budget_id = ?", (budget_id,))
            return sum(r["consumed"] for r in rows)
        if self.backend == "redis":
            keys = [k for k in self.redis.cli("KEYS", f"genops:budget:{budget_id}:*").splitlines() if k]
            return sum(int(float(self.redis.cli("HGET", k, "consumed") or 0)) for k in keys)
        return None


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path) -> Store:
    return Store(request.param, tmp_path, request)


def start(start_gateway, scripted_mock, tmp_path, store: Store, name: str, **gov):
    over = deep_merge(gov_overrides(scripted_mock.url, tmp_path / f"{name}-gov", **gov), store.overrides())
    return start_gateway(over, name=f"{name}-{store.backend}")


def call_100(client, tid: str, stream: bool = False, **headers):
    return client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=100, stream=stream,
        extra_headers={"x-test-id": tid, "x-mock-usage": USAGE_100, **headers})


def test_budget_blocks_at_the_limit(start_gateway, scripted_mock, tmp_path, store):
    gw = start(start_gateway, scripted_mock, tmp_path, store, "be-block", budgets=[budget("be-b", 0.25)])
    client = gw.openai(api_key=VK_SEARCH)
    for _ in range(2):
        raw = call_100(client, new_test_id())
        assert raw.headers.get("x-genops-policy-result") == "allowed"
    tid = new_test_id()
    with pytest.raises(openai.APIStatusError) as ei:
        call_100(client, tid)
    assert ei.value.status_code == 402
    assert ei.value.body.get("code") == "budget_exceeded", ei.value.body
    assert "$0.20 of $0.25" in ei.value.body["message"], ei.value.body
    assert ei.value.response.headers.get("x-genops-policy-name") == "be-b"
    assert scripted_mock.find(tid) == []
    # Another team is outside the budget's scope.
    assert call_100(gw.openai(api_key=VK_INTERN), new_test_id()).http_response.status_code == 200
    consumed = store.consumed_nano("be-b", 2 * COST_100)
    assert consumed in (None, 2 * COST_100), consumed


def test_budget_warn_forwards_past_the_limit(start_gateway, scripted_mock, tmp_path, store):
    gw = start(start_gateway, scripted_mock, tmp_path, store, "be-warn",
               budgets=[budget("be-w", 0.15, enforcement="warn")])
    client = gw.openai(api_key=VK_SEARCH)
    assert call_100(client, new_test_id()).headers.get("x-genops-policy-result") == "allowed"
    for _ in range(2):
        tid = new_test_id()
        raw = call_100(client, tid)
        assert raw.http_response.status_code == 200
        assert raw.headers.get("x-genops-policy-result") == "warning"
        assert raw.headers.get("x-genops-policy-name") == "be-w"
        scripted_mock.one(tid)
    consumed = store.consumed_nano("be-w", 3 * COST_100)
    assert consumed in (None, 3 * COST_100), consumed


def test_concurrent_streams_admit_only_what_the_budget_holds(start_gateway, scripted_mock, tmp_path, store):
    gw = start(start_gateway, scripted_mock, tmp_path, store, "be-conc", budgets=[budget("be-c", 0.55)])
    tid = new_test_id()

    async def run_all():
        client = openai.AsyncOpenAI(base_url=gw.base + "/openai/v1", api_key=VK_SEARCH, max_retries=0,
                                    timeout=60.0)

        async def one():
            try:
                raw = await call_100_async(client, tid)
            except openai.APIStatusError as e:
                return e.status_code
            async for _ in raw.parse():
                pass
            return 200

        try:
            return await asyncio.gather(*(one() for _ in range(32)))
        finally:
            await client.close()

    statuses = asyncio.run(run_all())
    assert sorted(set(statuses)) in ([200, 402], [200]), statuses
    assert statuses.count(200) == 5, f"admitted {statuses.count(200)} of 32 (expected 5): {statuses}"
    assert len(scripted_mock.find(tid)) == 5
    consumed = store.consumed_nano("be-c", 5 * COST_100)
    assert consumed in (None, 5 * COST_100), consumed


async def call_100_async(client, tid: str):
    return await client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=100, stream=True,
        extra_headers={"x-test-id": tid, "x-mock-usage": USAGE_100, "x-mock-event-delay-ms": "40"})


def test_rate_limit_blocks_the_fourth_call(start_gateway, scripted_mock, tmp_path, store):
    gw = start(start_gateway, scripted_mock, tmp_path, store, "be-rl", rate_limits=[rl("be-rpm", requests_per_minute=3)])
    client = gw.openai(api_key=VK_SEARCH)
    for remaining in (2, 1, 0):
        raw = client.chat.completions.with_raw_response.create(
            model="gov-model", messages=MESSAGES, max_tokens=5, extra_headers={"x-test-id": new_test_id()})
        assert raw.headers.get("x-ratelimit-remaining-requests") == str(remaining)
    tid = new_test_id()
    with pytest.raises(openai.RateLimitError) as ei:
        client.chat.completions.create(model="gov-model", messages=MESSAGES, max_tokens=5,
                                       extra_headers={"x-test-id": tid})
    h = ei.value.response.headers
    assert h.get("x-genops-policy-name") == "be-rpm"
    assert (h.get("retry-after") or "").isdigit(), dict(h)
    assert scripted_mock.find(tid) == []
    if store.backend == "redis":
        keys = [k for k in store.redis.cli("KEYS", "genops:rl:*").splitlines() if k]
        assert any("be-rpm" in k for k in keys), keys


def test_rate_limit_warn_forwards(start_gateway, scripted_mock, tmp_path, store):
    gw = start(start_gateway, scripted_mock, tmp_path, store, "be-rlw",
               rate_limits=[rl("be-rpm-w", requests_per_minute=1, enforcement="warn")])
    client = gw.openai(api_key=VK_SEARCH)
    first = client.chat.completions.with_raw_response.create(model="gov-model", messages=MESSAGES, max_tokens=5)
    assert first.headers.get("x-genops-policy-result") == "allowed"
    tid = new_test_id()
    raw = client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=5, extra_headers={"x-test-id": tid})
    assert raw.http_response.status_code == 200
    assert raw.headers.get("x-genops-policy-result") == "warning"
    assert raw.headers.get("x-genops-policy-name") == "be-rpm-w"
    scripted_mock.one(tid)
