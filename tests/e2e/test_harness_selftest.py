"""Self-test of the harness, no gateway involved: the official SDKs talk DIRECTLY to the mock (so
the mock provably speaks the real wire formats, in every chunking mode), and the OTLP receiver
decodes what the OpenTelemetry Python exporter sends."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import openai
import pytest

import mock_upstream as m
from helpers import new_test_id, o200k

MODES = ["whole", "split", "crlf", "comments", "multiline", "split,crlf,comments,multiline"]


@pytest.fixture
def oa(mock):
    return openai.OpenAI(base_url=mock.url + "/v1", api_key="sk-direct", max_retries=0, timeout=10)


@pytest.fixture
def an(mock):
    return anthropic.Anthropic(base_url=mock.url, api_key="sk-ant-direct", max_retries=0, timeout=10)


def test_openai_chat_nonstream(oa, mock):
    tid = new_test_id()
    r = oa.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers={"x-test-id": tid}
    )
    assert r.choices[0].message.content == m.COMPLETION_TEXT
    assert r.model == "gpt-4o-mini-2024-07-18"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (27, 42)
    rec = mock.one(tid)
    assert rec.method == "POST" and rec.path == "/v1/chat/completions"
    assert rec.header("authorization") == "Bearer sk-direct"
    assert rec.json()["messages"][0]["content"] == "hi"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("include_usage", [False, True])
def test_openai_chat_stream_modes(oa, mode, include_usage):
    kw = {"stream_options": {"include_usage": True}} if include_usage else {}
    stream = oa.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        extra_headers={"x-mock-chunking": mode},
        **kw,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == m.COMPLETION_TEXT
    if include_usage:
        assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 42
        assert all(c.usage is None for c in chunks[:-1])
    else:
        assert all(c.usage is None for c in chunks)


def test_openai_stream_wire_details(mock):
    body = {"model": "gpt-4o-mini", "messages": [], "stream": True}
    with httpx.Client(base_url=mock.url) as c:
        plain = c.post("/v1/chat/completions", json=body).content
        with_usage = c.post(
            "/v1/chat/completions", json={**body, "stream_options": {"include_usage": True}}
        ).content
        ignored = c.post(
            "/v1/chat/completions",
            json={**body, "stream_options": {"include_usage": True}},
            headers={"x-mock-no-usage": "1"},
        ).content
        split = c.post("/v1/chat/completions", json=body, headers={"x-mock-chunking": "split"}).content
    assert b'"usage"' not in plain
    assert ignored == plain
    assert split == plain
    events = [e for e in with_usage.split(b"\n\n") if e]
    assert events[-1] == b"data: [DONE]"
    assert all(e.endswith(b',"usage":null}') for e in events[:-2])
    last = json.loads(events[-2][len(b"data: "):])
    assert last["choices"] == [] and last["usage"]["prompt_tokens"] == 27
    # Removing the usage nulls and the usage chunk gives back exactly the plain stream.
    rebuilt = b"\n\n".join(e.replace(b',"usage":null}', b"}") for e in events[:-2] + events[-1:]) + b"\n\n"
    assert rebuilt == plain


def test_openai_completions(oa):
    r = oa.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    assert r.choices[0].text == m.COMPLETION_TEXT and r.usage.completion_tokens == 42
    s = oa.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True, stream_options={"include_usage": True}
    )
    chunks = list(s)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == m.COMPLETION_TEXT
    assert chunks[-1].usage.prompt_tokens == 27


def test_openai_embeddings(oa):
    r = oa.embeddings.create(model="text-embedding-3-small", input="hello world")  # SDK asks base64
    assert r.usage.prompt_tokens == 8
    assert r.data[0].embedding == pytest.approx(m.embedding_vector(0))
    r2 = oa.embeddings.create(model="text-embedding-3-small", input=["a", "b"], encoding_format="float")
    assert [d.index for d in r2.data] == [0, 1]
    assert r2.data[1].embedding == pytest.approx(m.embedding_vector(1))


@pytest.mark.parametrize("mode", ["whole", "split,crlf", "comments,multiline"])
def test_openai_responses_stream(oa, mode):
    events = list(
        oa.responses.create(model="gpt-4o-mini", input="hi", stream=True, extra_headers={"x-mock-chunking": mode})
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == m.COMPLETION_TEXT
    usage = events[-1].response.usage
    assert (usage.input_tokens, usage.output_tokens) == (31, 23)
    r = oa.responses.create(model="gpt-4o-mini", input="hi")
    assert r.output_text == m.COMPLETION_TEXT and r.usage.total_tokens == 54


def test_openai_models(oa, mock):
    ids = [x.id for x in oa.models.list()]
    assert "gpt-4o-mini" in ids


def test_anthropic_nonstream(an):
    r = an.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=100,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"x-mock-usage": json.dumps({"cache_read": 1000, "cache_creation": 200})},
    )
    assert r.content[0].text == m.COMPLETION_TEXT
    assert r.usage.input_tokens == 21 and r.usage.cache_read_input_tokens == 1000
    assert r.usage.cache_creation_input_tokens == 200 and r.usage.output_tokens == 17


@pytest.mark.parametrize("mode", MODES)
def test_anthropic_stream_modes(an, mode):
    with an.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=100,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"x-mock-chunking": mode, "x-mock-usage": json.dumps({"cache_read": 1000})},
    ) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == m.COMPLETION_TEXT
    assert final.usage.output_tokens == 17  # cumulative value of message_delta, not 1 + 17
    assert final.usage.cache_read_input_tokens == 1000
    assert final.model == "claude-sonnet-4-5-20250929"


def test_provider_errors(oa, an, mock):
    with pytest.raises(openai.RateLimitError) as e:
        oa.chat.completions.create(model="gpt-4o-mini", messages=[], extra_headers={"x-mock-error": "429"})
    assert e.value.code == "rate_limit_exceeded"
    with pytest.raises(anthropic.BadRequestError) as e2:
        an.messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=[], extra_headers={"x-mock-error": "400"})
    assert e2.value.body["error"]["type"] == "invalid_request_error"


def test_hang_and_slow_first_byte(mock):
    with pytest.raises(openai.APITimeoutError):
        openai.OpenAI(base_url=mock.url + "/v1", api_key="k", max_retries=0, timeout=0.5).chat.completions.create(
            model="gpt-4o-mini", messages=[], extra_headers={"x-mock-hang": "1"}
        )
    t = time.monotonic()
    httpx.post(mock.url + "/v1/chat/completions", json={"model": "x", "messages": []},
               headers={"x-mock-first-byte-delay-ms": "300"})
    assert time.monotonic() - t >= 0.3


def test_cut_mid_stream(mock):
    with httpx.Client(base_url=mock.url) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            with c.stream("POST", "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": [], "stream": True},
                          headers={"x-mock-cut-after": "3"}) as r:
                for _ in r.iter_bytes():
                    pass


def test_records_big_body_and_query(mock):
    tid = new_test_id()
    big = "x" * (2 * 1024 * 1024)
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": big}]}).encode()
    r = httpx.post(mock.url + "/v1/chat/completions?a=1&b=two", content=body,
                   headers={"x-test-id": tid, "content-type": "application/json"}, timeout=30)
    assert r.status_code == 200
    rec = mock.one(tid)
    assert rec.body == body and rec.target == "/v1/chat/completions?a=1&b=two" and rec.query["b"] == ["two"]


def test_tokenizer_available():
    assert len(o200k().encode(m.COMPLETION_TEXT)) > 0


def test_otlp_receiver_decodes_python_exporter(otlp):
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import Counter, MeterProvider
    from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    rid = new_test_id()
    resource = Resource.create({"service.name": "selftest"})
    tp = TracerProvider(resource=resource)
    tp.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=otlp.endpoint + "/v1/traces")))
    tracer = tp.get_tracer("selftest")
    with tracer.start_as_current_span("parent") as parent:
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
            span.set_attribute("genops.request_id", rid)
            span.set_attribute("gen_ai.usage.input_tokens", 27)
            span.set_attribute("genops.cost.total", 1.545e-05)
            span.set_attribute("gen_ai.request.stream", True)
            span.set_attribute("gen_ai.response.finish_reasons", ["stop"])
            span.add_event("genops.policy.evaluated", {"genops.policy.result": "allowed"})
            span.set_status(Status(StatusCode.ERROR, "boom"))
    tp.shutdown()
    s = otlp.span_for_request(rid, settle=0)
    assert s["name"] == "chat gpt-4o-mini" and s["kind"] == "CLIENT"
    assert s["parent_span_id"] == format(parent.get_span_context().span_id, "016x")
    assert s["trace_id"] == format(parent.get_span_context().trace_id, "032x")
    a = s["attributes"]
    assert a["gen_ai.usage.input_tokens"] == 27 and isinstance(a["gen_ai.usage.input_tokens"], int)
    assert a["genops.cost.total"] == 1.545e-05 and a["gen_ai.request.stream"] is True
    assert a["gen_ai.response.finish_reasons"] == ["stop"]
    assert s["events"][0]["name"] == "genops.policy.evaluated"
    assert s["status"] == {"code": "ERROR", "message": "boom"}
    assert s["resource"]["service.name"] == "selftest"

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=otlp.endpoint + "/v1/metrics",
                           preferred_temporality={Counter: AggregationTemporality.DELTA}),
        export_interval_millis=100000,
    )
    mp = MeterProvider(resource=resource, metric_readers=[reader])
    mp.get_meter("selftest").create_counter("genops.tokens.total").add(69, {"genops.team": rid})
    mp.force_flush()
    mp.shutdown()
    got = otlp.wait_for_metric("genops.tokens.total", predicate=lambda x: any(
        p["attributes"].get("genops.team") == rid for p in x["data_points"]))
    assert got[0]["temporality"] == "DELTA" and got[0]["data_points"][0]["value"] == 69
