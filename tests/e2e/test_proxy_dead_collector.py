"""Issue 2: a dead or silent OTLP collector never fails or slows a call."""

from __future__ import annotations

import socket
import time

import pytest

import mock_upstream as m

MSGS = [{"role": "user", "content": "hi"}]


@pytest.fixture
def blackhole():
    """A port that accepts TCP connections (kernel backlog) but never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    yield s.getsockname()[1]
    s.close()


@pytest.mark.parametrize("collector", ["closed", "blackhole"])
def test_calls_unaffected_by_dead_collector(start_gateway, closed_port, blackhole, collector):
    port = closed_port if collector == "closed" else blackhole
    gw = start_gateway({"telemetry": {"otlp": {"endpoint": f"http://127.0.0.1:{port}"}}}, name=collector)
    client = gw.openai()
    slowest = 0.0
    t_all = time.monotonic()
    for i in range(30):
        t = time.monotonic()
        if i % 3 == 0:
            text = "".join(c.choices[0].delta.content or ""
                           for c in client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
                           if c.choices)
        else:
            text = client.chat.completions.create(model="gpt-4o-mini", messages=MSGS).choices[0].message.content
        assert text == m.COMPLETION_TEXT
        slowest = max(slowest, time.monotonic() - t)
        if i == 10:
            time.sleep(1.0)  # let a few export attempts (200 ms batches) start and stall
    total = time.monotonic() - t_all
    assert slowest < 2.0, f"slowest call took {slowest:.2f}s with a {collector} collector"
    assert total < 20.0, f"30 calls took {total:.1f}s with a {collector} collector"
