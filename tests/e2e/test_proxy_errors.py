"""Issue 2, errors: the gateway's own errors in the caller's provider format (http.md table), so the
SDKs raise their usual typed exceptions; provider errors pass through unchanged; one span each."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import openai
import pytest

from helpers import PRESENT, check_attrs, new_test_id, request_id

GATEWAY_OVERRIDES = {"limits": {"max_body_bytes": 65536, "upstream_first_byte_timeout_ms": 500}}

MSGS = [{"role": "user", "content": "hi"}]


def openai_error_kind(resp: httpx.Response) -> str:
    """OpenAI format: {"error": {"message", "type", "param", "code"}}; the table's name may be in
    `type` or `code`, return whichever matches the table's vocabulary."""
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err.get("message"), str) and err["message"], body
    assert "type" in err and "code" in err and "param" in err, body
    return err


def assert_openai_error(resp: httpx.Response, kind: str) -> None:
    err = openai_error_kind(resp)
    assert kind in (err.get("type"), err.get("code")), f"expected {kind!r} as error.type or code: {err}"


def assert_anthropic_error(resp: httpx.Response, kind: str) -> None:
    body = resp.json()
    assert body.get("type") == "error", body
    assert body["error"]["type"] == kind, body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], body


def error_span(otlp, resp: httpx.Response, status: int) -> dict:
    span = otlp.span_for_request(request_id(resp.headers))
    check_attrs(span, {"http.response.status_code": status, "error.type": PRESENT})
    assert span["status"]["code"] == "ERROR", span["status"]
    return span


# ---- unknown provider prefix: 404 ----------------------------------------------------------------

def test_unknown_prefix_openai_sdk(gateway, otlp):
    with pytest.raises(openai.NotFoundError) as e:
        gateway.openai("/nope/v1").chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert e.value.status_code == 404
    assert_openai_error(e.value.response, "not_found")
    span = otlp.span_for_request(request_id(e.value.response.headers))
    check_attrs(span, {"http.response.status_code": 404})


def test_unknown_prefix_anthropic_sdk(gateway, otlp):
    # The Anthropic SDK sends `anthropic-version`: the gateway answers in Anthropic's format.
    with pytest.raises(anthropic.NotFoundError) as e:
        gateway.anthropic("/nope").messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=MSGS)
    assert e.value.status_code == 404
    assert_anthropic_error(e.value.response, "not_found_error")


# ---- malformed requests: 400 ---------------------------------------------------------------------

def test_malformed_json_openai(gateway, mock):
    tid = new_test_id()
    r = httpx.post(gateway.url("/openai/v1/chat/completions"), content=b'{"model": "gpt-4o-mini", "messages": [',
                   headers={"content-type": "application/json", "authorization": "Bearer sk-x", "x-test-id": tid})
    assert r.status_code == 400
    assert_openai_error(r, "invalid_request_error")
    request_id(r.headers)
    assert mock.find(tid) == []


def test_malformed_json_anthropic(gateway, mock):
    tid = new_test_id()
    r = httpx.post(gateway.url("/anthropic/v1/messages"), content=b'{"model": ',
                   headers={"content-type": "application/json", "x-api-key": "sk-ant-x",
                            "anthropic-version": "2023-06-01", "x-test-id": tid})
    assert r.status_code == 400
    assert_anthropic_error(r, "invalid_request_error")
    assert mock.find(tid) == []


def test_bad_governance_header_value(gateway, mock):
    tid = new_test_id()
    with pytest.raises(openai.BadRequestError) as e:
        gateway.openai().chat.completions.create(
            model="gpt-4o-mini", messages=MSGS,
            extra_headers={"x-genops-team": "<script>alert(1)</script>" * 20, "x-test-id": tid},
        )
    assert_openai_error(e.value.response, "invalid_request_error")
    assert mock.find(tid) == []


# ---- body over limits.max_body_bytes: 413 --------------------------------------------------------

def test_body_too_large_openai(gateway, mock, otlp):
    tid = new_test_id()
    with pytest.raises(openai.APIStatusError) as e:
        gateway.openai().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x" * 100_000}],
            extra_headers={"x-test-id": tid},
        )
    assert e.value.status_code == 413
    assert_openai_error(e.value.response, "invalid_request_error")
    assert mock.find(tid) == []
    error_span(otlp, e.value.response, 413)


def test_body_too_large_anthropic(gateway, mock):
    tid = new_test_id()
    with pytest.raises(anthropic.APIStatusError) as e:
        gateway.anthropic().messages.create(
            model="claude-sonnet-4-5", max_tokens=5, messages=[{"role": "user", "content": "x" * 100_000}],
            extra_headers={"x-test-id": tid},
        )
    assert e.value.status_code == 413
    assert_anthropic_error(e.value.response, "request_too_large")
    assert mock.find(tid) == []


# ---- upstream unreachable: 502; upstream silent: 504 ---------------------------------------------

def test_upstream_unreachable_openai(gateway, otlp):
    with pytest.raises(openai.APIStatusError) as e:
        gateway.openai("/closed/v1").chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert e.value.status_code == 502
    assert_openai_error(e.value.response, "upstream_error")
    error_span(otlp, e.value.response, 502)


def test_upstream_unreachable_anthropic(gateway):
    with pytest.raises(anthropic.APIStatusError) as e:
        gateway.anthropic("/closed-anthropic").messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=MSGS)
    assert e.value.status_code == 502
    assert_anthropic_error(e.value.response, "api_error")


def test_upstream_hang_times_out_openai(gateway, otlp):
    t0 = time.monotonic()
    with pytest.raises(openai.APIStatusError) as e:
        gateway.openai().chat.completions.create(model="gpt-4o-mini", messages=MSGS,
                                                 extra_headers={"x-mock-hang": "1"})
    elapsed = time.monotonic() - t0
    assert e.value.status_code == 504
    assert elapsed < 10, f"504 took {elapsed:.1f}s with a 500 ms first-byte timeout"
    assert_openai_error(e.value.response, "upstream_error")
    span = error_span(otlp, e.value.response, 504)
    check_attrs(span, {"error.type": "timeout"})


def test_upstream_hang_times_out_anthropic(gateway):
    with pytest.raises(anthropic.APIStatusError) as e:
        gateway.anthropic().messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=MSGS,
                                            extra_headers={"x-mock-hang": "1"})
    assert e.value.status_code == 504
    assert_anthropic_error(e.value.response, "api_error")


def test_slow_first_byte_within_timeout_is_fine(gateway):
    r = gateway.openai().chat.completions.create(model="gpt-4o-mini", messages=MSGS,
                                                 extra_headers={"x-mock-first-byte-delay-ms": "150"})
    assert r.choices[0].message.content


# ---- provider errors pass through unchanged ------------------------------------------------------

def test_provider_429_passes_through(gateway, mock, otlp):
    tid = new_test_id()
    with pytest.raises(openai.RateLimitError) as e:
        gateway.openai().chat.completions.create(model="gpt-4o-mini", messages=MSGS,
                                                 extra_headers={"x-mock-error": "429", "x-test-id": tid})
    rec = mock.one(tid)
    assert e.value.status_code == 429
    assert e.value.response.content == rec.response_body  # byte for byte
    assert e.value.code == "rate_limit_exceeded"
    span = otlp.span_for_request(request_id(e.value.response.headers))
    check_attrs(span, {"http.response.status_code": 429, "error.type": PRESENT, "gen_ai.provider.name": "openai"})


def test_provider_400_anthropic_passes_through(gateway, mock, otlp):
    tid = new_test_id()
    with pytest.raises(anthropic.BadRequestError) as e:
        gateway.anthropic().messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=MSGS,
                                            extra_headers={"x-mock-error": "400", "x-test-id": tid})
    rec = mock.one(tid)
    assert e.value.response.content == rec.response_body
    assert e.value.response.json()["error"]["type"] == "invalid_request_error"
    span = otlp.span_for_request(request_id(e.value.response.headers))
    check_attrs(span, {"http.response.status_code": 400, "error.type": PRESENT,
                       "gen_ai.provider.name": "anthropic"})


def test_stream_cut_mid_way_is_recorded(gateway, mock, otlp):
    """The upstream drops the connection after 5 events: the client sees an incomplete stream
    (never a clean [DONE]) and the span records the failure."""
    body = json.dumps({"model": "gpt-4o-mini", "messages": MSGS, "stream": True}).encode()
    received = b""
    rid = None
    try:
        with httpx.stream("POST", gateway.url("/openai/v1/chat/completions"), content=body, timeout=30,
                          headers={"content-type": "application/json", "authorization": "Bearer sk-x",
                                   "x-mock-cut-after": "5"}) as r:
            rid = request_id(r.headers)
            for part in r.iter_bytes():
                received += part
    except httpx.HTTPError:
        pass
    assert rid is not None
    assert b"data: [DONE]" not in received
    span = otlp.span_for_request(rid)
    check_attrs(span, {"error.type": PRESENT})
    assert span["status"]["code"] == "ERROR"
