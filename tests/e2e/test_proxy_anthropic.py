"""Issue 2, Anthropic format: the official `anthropic` SDK through the gateway, with cache tokens."""

from __future__ import annotations

import json

import httpx
import pytest

import mock_upstream as m
from helpers import Cost, check_attrs, expected_cost_nano, metered, new_test_id, request_id

MODEL = "claude-sonnet-4-5"
MSGS = [{"role": "user", "content": "Say hello to the e2e test."}]
CACHE_USAGE = {"input": 21, "cache_read": 1000, "cache_creation": 200, "output": 17}
# Input on the span = uncached + cache read + cache creation; output = message_delta's final count.
CACHE_INPUT = 21 + 1000 + 200
CACHE_COST = expected_cost_nano("anthropic", MODEL, input_uncached=21, cached=1000, cache_creation=200, output=17)


def span_expectations(mock, *, stream: bool) -> dict:
    exp = metered("anthropic", request_model=MODEL, response_model="claude-sonnet-4-5-20250929",
                  input_tokens=CACHE_INPUT, output_tokens=17, cost_nano=CACHE_COST)
    exp.update({
        "gen_ai.operation.name": "chat",
        "gen_ai.usage.cache_read.input_tokens": 1000,
        "gen_ai.usage.cache_creation.input_tokens": 200,
        "gen_ai.response.id": "msg_mock0001",
        "gen_ai.response.finish_reasons": ["end_turn"],
        "gen_ai.request.max_tokens": 256,
        "server.port": mock.port,
        "genops.cost.input": Cost(21 * 3000 + 1000 * 300 + 200 * 3750),
        "genops.cost.output": Cost(17 * 15000),
    })
    if stream:
        exp["gen_ai.request.stream"] = True
    return exp


def test_messages_nonstream_with_cache_tokens(gateway, mock, otlp):
    tid = new_test_id()
    raw = gateway.anthropic().messages.with_raw_response.create(
        model=MODEL, max_tokens=256, messages=MSGS,
        extra_headers={"x-mock-usage": json.dumps(CACHE_USAGE), "x-test-id": tid},
    )
    msg = raw.parse()
    assert msg.content[0].text == m.COMPLETION_TEXT
    assert (msg.usage.input_tokens, msg.usage.cache_read_input_tokens, msg.usage.cache_creation_input_tokens,
            msg.usage.output_tokens) == (21, 1000, 200, 17)
    rec = mock.one(tid)
    assert rec.path == "/v1/messages"
    # Passthrough: the caller's key, in whichever header the SDK used (recent SDKs send a bearer).
    assert "sk-ant-test-caller" in (rec.header("x-api-key"), (rec.header("authorization") or "").removeprefix("Bearer "))
    assert rec.header("anthropic-version")
    rid = request_id(raw.headers)
    assert raw.headers.get("x-genops-tokens-total") == str(CACHE_INPUT + 17)
    span = otlp.span_for_request(rid)
    assert span["name"] == f"chat {MODEL}" and span["kind"] == "CLIENT"
    check_attrs(span, {**span_expectations(mock, stream=False), "genops.request_id": rid})


@pytest.mark.parametrize("mode", ["whole", "split", "crlf", "comments", "multiline", "split,crlf,comments,multiline"])
def test_messages_stream_with_cache_tokens(gateway, mock, otlp, mode):
    with gateway.anthropic().messages.with_streaming_response.create(
        model=MODEL, max_tokens=256, messages=MSGS, stream=True,
        extra_headers={"x-mock-usage": json.dumps(CACHE_USAGE), "x-mock-chunking": mode},
    ) as resp:
        rid = request_id(resp.headers)
        events = list(resp.parse())
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == m.COMPLETION_TEXT
    assert [e.type for e in events][-1] == "message_stop"
    span = otlp.span_for_request(rid)
    check_attrs(span, {**span_expectations(mock, stream=True), "genops.request_id": rid})


@pytest.mark.parametrize("mode", ["whole", "split,crlf,comments"])
def test_messages_stream_bytes_unchanged(gateway, mock, otlp, mode):
    body = json.dumps({"model": MODEL, "max_tokens": 256, "messages": MSGS, "stream": True}).encode()
    headers = {"content-type": "application/json", "x-api-key": "sk-ant-test-caller",
               "anthropic-version": "2023-06-01", "x-mock-chunking": mode}
    expected = httpx.post(mock.url + "/v1/messages", content=body, headers=headers, timeout=30).content
    r = httpx.post(gateway.url("/anthropic/v1/messages"), content=body, headers=headers, timeout=30)
    assert r.status_code == 200 and r.content == expected
    cost = expected_cost_nano("anthropic", MODEL, input_uncached=21, output=17)
    check_attrs(otlp.span_for_request(request_id(r.headers)),
                metered("anthropic", request_model=MODEL, response_model="claude-sonnet-4-5-20250929",
                        input_tokens=21, output_tokens=17, cost_nano=cost))


def test_messages_stream_helper(gateway, mock, otlp):
    """The SDK's high-level stream helper sees the cumulative output count, not a sum."""
    with gateway.anthropic().messages.stream(model=MODEL, max_tokens=256, messages=MSGS) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == m.COMPLETION_TEXT and final.usage.output_tokens == 17
