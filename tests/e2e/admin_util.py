"""Helpers shared by the admin API, reload and CLI tests."""

from __future__ import annotations

import time
from typing import Any

import httpx

TOKEN = "test-admin-token"
PROVIDER_KEY = "sk-provider-real"

# Virtual keys, with the gateway's own provider key for `openai`.
VIRTUAL_KEYS = {
    "auth": {"mode": "virtual_keys"},
    "providers": {"openai": {"api_key": PROVIDER_KEY}},
}

MSGS = [{"role": "user", "content": "Say hello to the admin test."}]


def admin(gw, method: str, path: str, *, token: str | None = TOKEN, **kw: Any) -> httpx.Response:
    headers = dict(kw.pop("headers", {}))
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return httpx.request(method, gw.admin + path, headers=headers, timeout=30.0, **kw)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Polls until predicate() returns something truthy; returns it (fails after timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def spend_rows(gw, group_by: str) -> list[dict]:
    r = admin(gw, "GET", f"/admin/spend?group_by={group_by}")
    assert r.status_code == 200, r.text
    return r.json()["rows"]
