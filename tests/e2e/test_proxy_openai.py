"""Issue 2, OpenAI format: the official `openai` SDK through the gateway, one exact span per call."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

import mock_upstream as m
from helpers import (
    ABSENT,
    PRESENT,
    Cost,
    check_attrs,
    expected_cost_nano,
    metered,
    new_test_id,
    o200k,
    request_id,
)

MSGS = [{"role": "user", "content": "Say hello to the e2e test."}]
CHAT_COST = expected_cost_nano("openai", "gpt-4o-mini", input_uncached=27, output=42)  # 29_250 nano


def direct(mock) -> openai.OpenAI:
    return openai.OpenAI(base_url=mock.url + "/v1", api_key="sk-direct", max_retries=0, timeout=30)


def chat_span_expectations(mock, *, stream: bool) -> dict:
    exp = metered("openai", request_model="gpt-4o-mini", response_model="gpt-4o-mini-2024-07-18",
                  input_tokens=27, output_tokens=42, cost_nano=CHAT_COST)
    exp.update({
        "gen_ai.operation.name": "chat",
        "gen_ai.response.id": "chatcmpl-mock0001",
        "gen_ai.response.finish_reasons": ["stop"],
        "http.request.method": "POST",
        "server.port": mock.port,
        "genops.cost.input": Cost(27 * 150),
        "genops.cost.output": Cost(42 * 600),
    })
    if stream:
        exp["gen_ai.request.stream"] = True
        exp["gen_ai.response.time_to_first_chunk"] = lambda v: isinstance(v, float) and v >= 0
    return exp


@pytest.mark.parametrize("prefix", ["/v1", "/openai/v1"])
def test_chat_nonstream(gateway, mock, otlp, prefix):
    tid = new_test_id()
    client = gateway.openai(prefix)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MSGS, max_tokens=64, extra_headers={"x-test-id": tid}
    )
    got = raw.parse()
    want = direct(mock).chat.completions.create(model="gpt-4o-mini", messages=MSGS, max_tokens=64)
    assert got.choices[0].message.content == want.choices[0].message.content == m.COMPLETION_TEXT
    assert got.usage.model_dump() == want.usage.model_dump()
    assert got.model == want.model

    rid = request_id(raw.headers)
    assert raw.headers.get("x-genops-policy-result") == "allowed"
    assert raw.headers.get("x-genops-tokens-total") == "69"
    assert float(raw.headers["x-genops-cost-usd"]) == pytest.approx(CHAT_COST / 1e9, rel=1e-9, abs=1e-12)

    rec = mock.one(tid)
    assert rec.path == "/v1/chat/completions"
    assert rec.header("authorization") == "Bearer sk-test-caller-openai"  # passthrough: caller's key

    span = otlp.span_for_request(rid)
    assert span["name"] == "chat gpt-4o-mini"
    assert span["kind"] == "CLIENT"
    assert span["status"]["code"] != "ERROR"
    assert span["resource"].get("service.name") == "genops-gateway-e2e"
    check_attrs(span, {**chat_span_expectations(mock, stream=False), "genops.request_id": rid,
                       "gen_ai.request.max_tokens": 64, "gen_ai.request.stream": lambda v: v is ABSENT or v is False})


@pytest.mark.parametrize("prefix", ["/v1", "/openai/v1"])
def test_chat_stream_sdk(gateway, mock, otlp, prefix):
    tid = new_test_id()
    client = gateway.openai(prefix)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MSGS, stream=True, extra_headers={"x-test-id": tid}
    ) as resp:
        rid = request_id(resp.headers)
        chunks = list(resp.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == m.COMPLETION_TEXT
    # The caller did not ask for usage, so it sees none (the gateway's injected usage chunk is removed).
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)

    sent = mock.one(tid).json()
    assert sent["stream_options"]["include_usage"] is True

    span = otlp.span_for_request(rid)
    assert span["name"] == "chat gpt-4o-mini"
    check_attrs(span, {**chat_span_expectations(mock, stream=True), "genops.request_id": rid})


STREAM_BODY = json.dumps({"model": "gpt-4o-mini", "messages": MSGS, "stream": True}).encode()


def _post_raw(url: str, body: bytes, headers: dict) -> httpx.Response:
    return httpx.post(url, content=body, timeout=30,
                      headers={"content-type": "application/json", "authorization": "Bearer sk-test-caller-openai",
                               **headers})


@pytest.mark.parametrize("mode", ["whole", "split", "crlf", "comments", "split,crlf,comments"])
def test_stream_bytes_identical_without_include_usage(gateway, mock, otlp, mode):
    """The client receives byte for byte what the provider sends a caller that did not ask for
    usage, though the gateway asked the upstream for usage and meters it exactly."""
    expected = _post_raw(mock.url + "/v1/chat/completions", STREAM_BODY, {"x-mock-chunking": mode}).content
    assert b'"usage"' not in expected
    tid = new_test_id()
    r = _post_raw(gateway.url("/openai/v1/chat/completions"), STREAM_BODY,
                  {"x-mock-chunking": mode, "x-test-id": tid})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.content == expected
    assert mock.one(tid).json()["stream_options"] == {"include_usage": True}
    span = otlp.span_for_request(request_id(r.headers))
    check_attrs(span, chat_span_expectations(mock, stream=True))


@pytest.mark.parametrize("mode", ["whole", "split", "crlf", "comments", "multiline", "split,crlf,comments,multiline"])
def test_stream_with_caller_include_usage(gateway, mock, otlp, mode):
    """The caller asked for usage: it gets the usage chunk, bytes unchanged, same facts on the span
    whatever the chunking."""
    body = json.dumps({"model": "gpt-4o-mini", "messages": MSGS, "stream": True,
                       "stream_options": {"include_usage": True}}).encode()
    expected = _post_raw(mock.url + "/v1/chat/completions", body, {"x-mock-chunking": mode}).content
    r = _post_raw(gateway.url("/openai/v1/chat/completions"), body, {"x-mock-chunking": mode})
    assert r.status_code == 200
    assert r.content == expected
    span = otlp.span_for_request(request_id(r.headers))
    check_attrs(span, chat_span_expectations(mock, stream=True))


@pytest.mark.parametrize("mode", ["multiline", "split,crlf,comments,multiline"])
def test_stream_sdk_awkward_framing_without_include_usage(gateway, mock, otlp, mode):
    client = gateway.openai()
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MSGS, stream=True, extra_headers={"x-mock-chunking": mode}
    ) as resp:
        rid = request_id(resp.headers)
        chunks = list(resp.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == m.COMPLETION_TEXT
    assert all(c.usage is None for c in chunks)
    check_attrs(otlp.span_for_request(rid), chat_span_expectations(mock, stream=True))


def test_cached_input_tokens_priced(gateway, mock, otlp):
    usage = {"prompt": 1000, "cached": 400}
    raw = gateway.openai().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MSGS, extra_headers={"x-mock-usage": json.dumps(usage)}
    )
    cost = expected_cost_nano("openai", "gpt-4o-mini", input_uncached=600, cached=400, output=42)
    span = otlp.span_for_request(request_id(raw.headers))
    check_attrs(span, {
        **metered("openai", request_model="gpt-4o-mini", response_model="gpt-4o-mini-2024-07-18",
                  input_tokens=1000, output_tokens=42, cost_nano=cost),
        "gen_ai.usage.cache_read.input_tokens": 400,
        "genops.cost.input": Cost(600 * 150 + 400 * 75),
    })


def test_upstream_ignoring_include_usage_counts_with_tokenizer(gateway, mock, otlp):
    """An OpenAI-compatible server that never sends usage: tokens come from o200k_base."""
    enc = o200k()
    prompt = "Count the tokens of this prompt, please: the quick brown fox jumps over the lazy dog."
    tid = new_test_id()
    with gateway.openai("/compat/v1").chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], stream=True,
        extra_headers={"x-mock-no-usage": "1", "x-test-id": tid},
    ) as resp:
        rid = request_id(resp.headers)
        text = "".join(c.choices[0].delta.content or "" for c in resp.parse() if c.choices)
    assert text == m.COMPLETION_TEXT
    assert mock.one(tid).json()["stream_options"]["include_usage"] is True  # asked, ignored

    span = otlp.span_for_request(rid)
    out_tokens = len(enc.encode(m.COMPLETION_TEXT))
    prompt_tokens = len(enc.encode(prompt))
    a = span["attributes"]
    check_attrs(span, {
        "genops.tokens.source": "tokenizer",
        "gen_ai.usage.output_tokens": out_tokens,
        "genops.tokens.output": out_tokens,
        # The chat template adds a few tokens per message around the content.
        "gen_ai.usage.input_tokens": lambda v: type(v) is int and prompt_tokens <= v <= prompt_tokens + 16,
        "gen_ai.provider.name": "openai",
        "genops.cost.total": PRESENT,
    })
    cost = expected_cost_nano("openai", "gpt-4o-mini", input_uncached=a["gen_ai.usage.input_tokens"],
                              output=out_tokens)
    check_attrs(span, {"genops.cost.total": Cost(cost),
                       "genops.tokens.total": a["gen_ai.usage.input_tokens"] + out_tokens})


def test_nonstream_without_usage_counts_with_tokenizer(gateway, mock, otlp):
    enc = o200k()
    raw = gateway.openai("/compat/v1").chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MSGS, extra_headers={"x-mock-no-usage": "1"}
    )
    assert raw.parse().choices[0].message.content == m.COMPLETION_TEXT
    span = otlp.span_for_request(request_id(raw.headers))
    check_attrs(span, {"genops.tokens.source": "tokenizer",
                       "gen_ai.usage.output_tokens": len(enc.encode(m.COMPLETION_TEXT))})


def test_legacy_completions(gateway, mock, otlp):
    raw = gateway.openai().completions.with_raw_response.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    assert raw.parse().choices[0].text == m.COMPLETION_TEXT
    cost = expected_cost_nano("openai", "gpt-3.5-turbo-instruct", input_uncached=27, output=42)
    check_attrs(otlp.span_for_request(request_id(raw.headers)), {
        **metered("openai", request_model="gpt-3.5-turbo-instruct", response_model="gpt-3.5-turbo-instruct",
                  input_tokens=27, output_tokens=42, cost_nano=cost),
        "gen_ai.operation.name": "text_completion",
    })


def test_legacy_completions_stream_bytes_identical(gateway, mock, otlp):
    body = json.dumps({"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi", "stream": True}).encode()
    expected = _post_raw(mock.url + "/v1/completions", body, {}).content
    r = _post_raw(gateway.url("/openai/v1/completions"), body, {})
    assert r.content == expected
    cost = expected_cost_nano("openai", "gpt-3.5-turbo-instruct", input_uncached=27, output=42)
    check_attrs(otlp.span_for_request(request_id(r.headers)), {
        **metered("openai", request_model="gpt-3.5-turbo-instruct", response_model="gpt-3.5-turbo-instruct",
                  input_tokens=27, output_tokens=42, cost_nano=cost),
        "gen_ai.request.stream": True,
    })


def test_responses_api_stream(gateway, mock, otlp):
    with gateway.openai().responses.with_streaming_response.create(
        model="gpt-4o-mini", input="Say hello.", stream=True, extra_headers={"x-mock-chunking": "split"}
    ) as resp:
        rid = request_id(resp.headers)
        events = list(resp.parse())
    assert events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == m.COMPLETION_TEXT
    cost = expected_cost_nano("openai", "gpt-4o-mini", input_uncached=31, output=23)
    check_attrs(otlp.span_for_request(rid), {
        **metered("openai", request_model="gpt-4o-mini", response_model="gpt-4o-mini-2024-07-18",
                  input_tokens=31, output_tokens=23, cost_nano=cost),
        "gen_ai.request.stream": True,
    })


def test_responses_api_nonstream(gateway, mock, otlp):
    raw = gateway.openai().responses.with_raw_response.create(model="gpt-4o-mini", input="Say hello.")
    assert raw.parse().output_text == m.COMPLETION_TEXT
    cost = expected_cost_nano("openai", "gpt-4o-mini", input_uncached=31, output=23)
    check_attrs(otlp.span_for_request(request_id(raw.headers)),
                metered("openai", request_model="gpt-4o-mini", response_model="gpt-4o-mini-2024-07-18",
                        input_tokens=31, output_tokens=23, cost_nano=cost))


def test_embeddings(gateway, mock, otlp):
    raw = gateway.openai().embeddings.with_raw_response.create(model="text-embedding-3-small", input="hello world")
    emb = raw.parse()
    assert emb.data[0].embedding == pytest.approx(m.embedding_vector(0))
    cost = expected_cost_nano("openai", "text-embedding-3-small", input_uncached=8)
    check_attrs(otlp.span_for_request(request_id(raw.headers)), {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "text-embedding-3-small",
        "gen_ai.usage.input_tokens": 8,
        "genops.tokens.input": 8,
        "genops.tokens.total": 8,
        "gen_ai.usage.output_tokens": lambda v: v is ABSENT or v == 0,
        "genops.tokens.source": "usage",
        "genops.cost.total": Cost(cost),
    })


def test_models_forwarded_without_cost(gateway, mock, otlp):
    tid = new_test_id()
    raw = gateway.openai().models.with_raw_response.list(extra_headers={"x-test-id": tid}, extra_query={"limit": "5"})
    assert "gpt-4o-mini" in [x.id for x in raw.parse()]
    rec = mock.one(tid)
    assert rec.method == "GET" and rec.target == "/v1/models?limit=5"
    span = otlp.span_for_request(request_id(raw.headers))
    assert span["kind"] == "CLIENT"
    check_attrs(span, {
        "gen_ai.provider.name": "openai",
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "genops.policy.result": "allowed",
        "genops.cost.total": ABSENT,
        "gen_ai.cost.estimated_total": ABSENT,
        "gen_ai.usage.input_tokens": ABSENT,
    })
