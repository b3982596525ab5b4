"""Issue 2, HTTP transparency: big bodies, query strings, header hygiene, trace context."""

from __future__ import annotations

import json
import secrets

import httpx

import mock_upstream as m
from helpers import ABSENT, check_attrs, new_test_id, request_id

MSGS = [{"role": "user", "content": "hi"}]


def test_two_mib_prompt_end_to_end(gateway, mock, otlp):
    tid = new_test_id()
    prompt = ("All work and no play makes a long prompt. " * 60000)[: 2 * 1024 * 1024]
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}).encode()
    assert len(body) > 2 * 1024 * 1024
    r = httpx.post(gateway.url("/openai/v1/chat/completions"), content=body, timeout=60,
                   headers={"content-type": "application/json", "authorization": "Bearer sk-test", "x-test-id": tid})
    assert r.status_code == 200, r.text[:500]
    assert r.json()["choices"][0]["message"]["content"] == m.COMPLETION_TEXT
    rec = mock.one(tid)
    assert len(rec.body) == len(body)
    assert rec.body == body, "a non-streaming request body must reach the provider unchanged"
    check_attrs(otlp.span_for_request(request_id(r.headers)),
                {"gen_ai.usage.input_tokens": 27, "genops.tokens.source": "usage"})


def test_two_mib_prompt_with_sdk(gateway, mock):
    tid = new_test_id()
    prompt = "y" * (2 * 1024 * 1024)
    r = gateway.openai().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}],
                                                 stream=True, extra_headers={"x-test-id": tid})
    assert "".join(c.choices[0].delta.content or "" for c in r if c.choices) == m.COMPLETION_TEXT
    assert mock.one(tid).json()["messages"][0]["content"] == prompt


def test_query_string_kept(gateway, mock):
    tid = new_test_id()
    r = httpx.post(gateway.url("/openai/v1/chat/completions?api-version=2024-10-21&x=a%20b&flag"),
                   json={"model": "gpt-4o-mini", "messages": MSGS},
                   headers={"authorization": "Bearer sk-test", "x-test-id": tid}, timeout=30)
    assert r.status_code == 200
    assert mock.one(tid).target == "/v1/chat/completions?api-version=2024-10-21&x=a%20b&flag"


def test_hop_by_hop_and_genops_headers_not_forwarded(gateway, mock, otlp):
    tid = new_test_id()
    r = httpx.post(
        gateway.url("/openai/v1/chat/completions"),
        json={"model": "gpt-4o-mini", "messages": MSGS},
        timeout=30,
        headers={
            "authorization": "Bearer sk-test-caller",
            "x-test-id": tid,
            "Connection": "keep-alive, x-hop-custom",
            "x-hop-custom": "dropped because Connection names it",
            "Keep-Alive": "timeout=5, max=100",
            "TE": "trailers",
            "Trailer": "x-checksum",
            "Proxy-Authorization": "Basic c2VjcmV0OnNlY3JldA==",
            "Proxy-Connection": "keep-alive",
            "x-genops-team": "search",
            "x-genops-feature": "e2e-hygiene",
            "x-custom-forwarded": "yes",
            "OpenAI-Organization": "org-e2e",
            "User-Agent": "genops-e2e/1.0",
        },
    )
    assert r.status_code == 200
    rec = mock.one(tid)
    names = rec.header_names()
    for h in ["keep-alive", "te", "trailer", "proxy-authorization", "proxy-connection", "x-hop-custom"]:
        assert h not in names, f"hop-by-hop header {h} reached the provider: {rec.headers}"
    conn = (rec.header("connection") or "").lower()
    assert "x-hop-custom" not in conn
    assert not [n for n in names if n.startswith("x-genops-")], rec.headers
    assert rec.header("x-custom-forwarded") == "yes"
    assert rec.header("openai-organization") == "org-e2e"
    assert rec.header("user-agent") == "genops-e2e/1.0"
    assert rec.header("authorization") == "Bearer sk-test-caller"
    check_attrs(otlp.span_for_request(request_id(r.headers)),
                {"genops.team": "search", "genops.feature": "e2e-hygiene"})


def test_upgrade_header_not_forwarded(gateway, mock):
    tid = new_test_id()
    r = httpx.post(gateway.url("/openai/v1/chat/completions"), json={"model": "gpt-4o-mini", "messages": MSGS},
                   headers={"authorization": "Bearer sk-test", "x-test-id": tid, "Upgrade": "e2e-proto/1"},
                   timeout=30)
    assert r.status_code == 200
    assert "upgrade" not in mock.one(tid).header_names()


def test_traceparent_continues_callers_trace(gateway, mock, otlp):
    tid = new_test_id()
    trace_id = secrets.token_hex(16)
    parent_id = secrets.token_hex(8)
    raw = gateway.openai().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MSGS,
        extra_headers={"traceparent": f"00-{trace_id}-{parent_id}-01", "x-test-id": tid},
    )
    span = otlp.span_for_request(request_id(raw.headers))
    assert span["trace_id"] == trace_id
    assert span["parent_span_id"] == parent_id
    upstream_tp = mock.one(tid).header("traceparent")
    assert upstream_tp, "the provider got no traceparent"
    version, up_trace, up_parent, _flags = upstream_tp.split("-")
    assert (version, up_trace, up_parent) == ("00", trace_id, span["span_id"])


def test_traceparent_sent_upstream_without_caller_trace(gateway, mock, otlp):
    tid = new_test_id()
    raw = gateway.openai().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MSGS, extra_headers={"x-test-id": tid})
    span = otlp.span_for_request(request_id(raw.headers))
    assert span["parent_span_id"] == ""
    _v, up_trace, up_parent, _f = mock.one(tid).header("traceparent").split("-")
    assert (up_trace, up_parent) == (span["trace_id"], span["span_id"])
    check_attrs(span, {"genops.team": ABSENT})


def test_request_ids_are_unique(gateway):
    ids = set()
    with httpx.Client(timeout=30) as c:
        for _ in range(5):
            r = c.post(gateway.url("/openai/v1/chat/completions"), json={"model": "gpt-4o-mini", "messages": MSGS},
                       headers={"authorization": "Bearer sk-test"})
            ids.add(request_id(r.headers))
    assert len(ids) == 5
