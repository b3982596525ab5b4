"""A mock LLM provider speaking OpenAI's and Anthropic's documented wire formats over raw HTTP/1.1.

It runs an asyncio server on 127.0.0.1 (free port) in a background thread, records every request
it receives, and answers deterministically so tests know the exact content and token counts.

Per-request behaviour switches are request headers (the gateway forwards every non-`x-genops-*`
header, so tests set them through the SDKs' `extra_headers`):

- `x-mock-chunking`: comma-separated modes for streamed bodies:
  `whole` (default: one write per event), `split` (1-3-byte writes, also splitting UTF-8
  characters and the HTTP chunk framing), `crlf` (CRLF line endings), `comments` (a standalone
  `: stream open` comment block first, and a `: keepalive` comment line inside every event),
  `multiline` (each JSON payload spread over several `data:` lines).
- `x-mock-no-usage: 1`: behave like an OpenAI-compatible server that ignores
  `stream_options.include_usage` (and never reports usage in streams).
- `x-mock-usage`: JSON overriding the reported usage numbers, e.g.
  `{"prompt": 100, "cached": 40}` (OpenAI chat/completions/embeddings), `{"input": 10, "output": 5}`
  (Responses), `{"input": 21, "cache_read": 1000, "cache_creation": 200, "output": 17}` (Anthropic).
- `x-mock-cut-after: N`: close the connection after N stream events (no terminating chunk).
- `x-mock-error: STATUS`: answer STATUS with the provider's error JSON (OpenAI or Anthropic format
  by path).
- `x-mock-hang: 1`: read the request and never answer.
- `x-mock-first-byte-delay-ms: N`: wait N ms before the status line.
- `x-mock-event-delay-ms: N`: wait N ms between stream events.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

CREATED = 1_700_000_000

# Deterministic completion, deltas include multi-byte UTF-8 so byte splits land inside characters.
DELTAS = [
    "Hello",
    "!",
    " I",
    " am",
    " a",
    " mock",
    " model",
    ".",
    " Ünïcödé",
    " ✓",
    " 😀",
    " The",
    " quick",
    " brown",
    " fox",
    ".",
]
COMPLETION_TEXT = "".join(DELTAS)

# Provider-reported usage defaults (deliberately NOT the tokenizer's count of the text: tests can
# tell provider-reported usage from tokenizer counts).
OPENAI_USAGE = {"prompt": 27, "completion": 42, "cached": 0, "reasoning": 0}
EMBEDDINGS_USAGE = {"prompt": 8}
RESPONSES_USAGE = {"input": 31, "cached": 0, "output": 23, "reasoning": 0}
ANTHROPIC_USAGE = {"input": 21, "cache_read": 0, "cache_creation": 0, "output": 17}
EMBEDDING_DIM = 8

# The model a provider says it answered with (OpenAI/Anthropic return dated snapshots).
RESPONSE_MODELS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
}

MODELS_LIST = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "gpt-3.5-turbo-instruct"]

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    529: "Overloaded",
}


def response_model(requested: str | None) -> str:
    if not requested:
        return "unknown"
    return RESPONSE_MODELS.get(requested, requested)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


@dataclass
class RecordedRequest:
    """One request as the mock received it."""

    method: str
    target: str  # path with query, as on the request line
    headers: list[tuple[str, str]]  # in received order, original case
    body: bytes
    received_at: float
    response_status: int | None = None
    response_body: bytes = b""  # the payload sent (before HTTP chunk framing)
    completed: bool = False

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_names(self) -> set[str]:
        return {k.lower() for k, _ in self.headers}

    def json(self) -> Any:
        return json.loads(self.body)


class _Conn:
    """Writes one response on a connection, honouring the chunking switches."""

    def __init__(self, writer: asyncio.StreamWriter, record: RecordedRequest, modes: set[str]):
        self.writer = writer
        self.record = record
        self.modes = modes
        self.rng = random.Random(len(record.body) + len(record.target))

    async def _write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send_head(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.record.response_status = status
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in headers]
        await self._write(("\r\n".join(lines) + "\r\n\r\n").encode())

    async def send_json(self, status: int, obj: Any, extra: list[tuple[str, str]] | None = None) -> None:
        body = _dumps(obj).encode()
        self.record.response_body = body
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("x-request-id", "req_mock"),
        ] + (extra or [])
        await self.send_head(status, headers)
        await self._write(body)
        self.record.completed = True

    async def start_stream(self) -> None:
        await self.send_head(
            200,
            [
                ("Content-Type", "text/event-stream; charset=utf-8"),
                ("Transfer-Encoding", "chunked"),
                ("Cache-Control", "no-cache"),
                ("x-request-id", "req_mock"),
            ],
        )

    async def send_piece(self, data: bytes) -> None:
        """Sends payload bytes as HTTP chunks, split into 1-3-byte writes in `split` mode."""
        self.record.response_body += data
        if "split" not in self.modes:
            await self._write(b"%x\r\n%s\r\n" % (len(data), data))
            return
        i = 0
        writes = 0
        while i < len(data):
            n = self.rng.randint(1, 3)
            part = data[i : i + n]
            i += n
            await self._write(b"%x\r\n%s\r\n" % (len(part), part))
            writes += 1
            # Each write is its own TCP segment (TCP_NODELAY); a real pause now and then makes the
            # reader see the small pieces in separate reads rather than one coalesced buffer.
            await asyncio.sleep(0.001 if writes % 8 == 0 else 0)

    async def end_stream(self) -> None:
        await self._write(b"0\r\n\r\n")
        self.record.completed = True


def format_event(data: str, event: str | None, modes: set[str]) -> bytes:
    """One SSE event in the requested framing. `data` is the payload text."""
    nl = "\r\n" if "crlf" in modes else "\n"
    out = ""
    if "comments" in modes:
        # A comment line inside the event (dropped along with it if a proxy drops the event).
        out += ": keepalive" + nl
    if event is not None:
        out += f"event: {event}{nl}"
    if "multiline" in modes and data.startswith("{"):
        # Spread a JSON document over several data lines; joined with "\n" it is the same JSON.
        parts = _split_json_lines(data)
        for p in parts:
            out += f"data: {p}{nl}"
    else:
        out += f"data: {data}{nl}"
    out += nl
    return out.encode()


def _split_json_lines(data: str) -> list[str]:
    # Break after top-level-ish commas between keys; a newline is JSON whitespace, so the joined
    # lines parse to the same document.
    pieces, cur, depth, in_str, esc = [], "", 0, False, False
    for ch in data:
        cur += ch
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif ch == "," and depth <= 2:
            pieces.append(cur)
            cur = ""
    if cur:
        pieces.append(cur)
    return pieces


class MockUpstream:
    """The mock provider server. `start()` returns once it listens; `url` is its base URL."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> "MockUpstream":
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)

            async def boot() -> None:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", 0))
                self.port = sock.getsockname()[1]
                self._server = await asyncio.start_server(self._handle, sock=sock, limit=1 << 20)

            loop.run_until_complete(boot())
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="mock-upstream", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("mock upstream did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- inspection ------------------------------------------------------------------------
    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def find(self, test_id: str) -> list[RecordedRequest]:
        """Requests carrying header `x-test-id: test_id`."""
        with self._lock:
            return [r for r in self.requests if r.header("x-test-id") == test_id]

    def one(self, test_id: str) -> RecordedRequest:
        found = self.find(test_id)
        assert len(found) == 1, f"mock saw {len(found)} requests with x-test-id={test_id}"
        return found[0]

    # ---- HTTP server -----------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                record = await self._read_request(reader, writer)
                if record is None:
                    break
                keep = await self._respond(record, reader, writer)
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def _read_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> RecordedRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if not line:
                continue
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        lower = {k.lower(): v for k, v in headers}
        if lower.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        body = b""
        if "chunked" in lower.get("transfer-encoding", "").lower():
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    # trailers until empty line
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
        elif "content-length" in lower:
            body = await reader.readexactly(int(lower["content-length"]))
        record = RecordedRequest(method, target, headers, body, time.time())
        with self._lock:
            self.requests.append(record)
        return record

    async def _respond(
        self, rec: RecordedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        modes = {m.strip() for m in (rec.header("x-mock-chunking") or "whole").split(",") if m.strip()}
        conn = _Conn(writer, rec, modes)
        if rec.header("x-mock-hang"):
            # Never answer; wait for the peer to give up.
            while await reader.read(65536):
                pass
            return False
        delay = int(rec.header("x-mock-first-byte-delay-ms") or 0)
        if delay:
            await asyncio.sleep(delay / 1000)
        path = rec.path
        anthropic = path.endswith("/messages")
        err = rec.header("x-mock-error")
        if err:
            status = int(err)
            body, extra = (anthropic_error(status) if anthropic else openai_error(status))
            await conn.send_json(status, body, extra)
            return True
        try:
            req = json.loads(rec.body) if rec.body else {}
        except json.JSONDecodeError:
            if anthropic:
                await conn.send_json(400, anthropic_error(400)[0])
            else:
                await conn.send_json(400, openai_error(400)[0])
            return True
        usage_override = json.loads(rec.header("x-mock-usage") or "{}")
        cut = rec.header("x-mock-cut-after")
        events_budget = int(cut) if cut is not None else None
        event_delay = int(rec.header("x-mock-event-delay-ms") or 0) / 1000
        no_usage = bool(rec.header("x-mock-no-usage"))

        if rec.method == "GET" and path.endswith("/models"):
            await conn.send_json(200, models_list())
            return True
        if rec.method != "POST":
            await conn.send_json(404, openai_error(404)[0])
            return True

        if path.endswith("/chat/completions"):
            if req.get("stream"):
                include = bool((req.get("stream_options") or {}).get("include_usage")) and not no_usage
                events = chat_stream_events(req, include, {**OPENAI_USAGE, **usage_override})
                return await self._stream(conn, events, modes, events_budget, event_delay)
            await conn.send_json(200, chat_completion(req, {**OPENAI_USAGE, **usage_override}, no_usage))
            return True
        if path.endswith("/completions"):
            if req.get("stream"):
                include = bool((req.get("stream_options") or {}).get("include_usage")) and not no_usage
                events = completion_stream_events(req, include, {**OPENAI_USAGE, **usage_override})
                return await self._stream(conn, events, modes, events_budget, event_delay)
            await conn.send_json(200, text_completion(req, {**OPENAI_USAGE, **usage_override}))
            return True
        if path.endswith("/embeddings"):
            await conn.send_json(200, embeddings(req, {**EMBEDDINGS_USAGE, **usage_override}))
            return True
        if path.endswith("/responses"):
            usage = {**RESPONSES_USAGE, **usage_override}
            if req.get("stream"):
                events = responses_stream_events(req, usage)
                return await self._stream(conn, events, modes, events_budget, event_delay)
            await conn.send_json(200, responses_object(req, usage, "completed"))
            return True
        if anthropic:
            usage = {**ANTHROPIC_USAGE, **usage_override}
            if req.get("stream"):
                events = anthropic_stream_events(req, usage)
                return await self._stream(conn, events, modes, events_budget, event_delay)
            await conn.send_json(200, anthropic_message(req, usage))
            return True
        await conn.send_json(404, openai_error(404)[0])
        return True

    async def _stream(
        self,
        conn: _Conn,
        events: list[tuple[str | None, str]],
        modes: set[str],
        budget: int | None,
        delay: float,
    ) -> bool:
        await conn.start_stream()
        if "comments" in modes:
            # A standalone comment block first, as servers send to open a stream.
            await conn.send_piece(b": stream open" + (b"\r\n\r\n" if "crlf" in modes else b"\n\n"))
        for n, (event, data) in enumerate(events):
            if budget is not None and n >= budget:
                # Cut: close without the terminating chunk.
                return False
            if delay and n:
                await asyncio.sleep(delay)
            await conn.send_piece(format_event(data, event, modes))
        await conn.end_stream()
        return True


# ---- wire formats ------------------------------------------------------------------------------


def openai_usage(u: dict) -> dict:
    return {
        "prompt_tokens": u["prompt"],
        "completion_tokens": u["completion"],
        "total_tokens": u["prompt"] + u["completion"],
        "prompt_tokens_details": {"cached_tokens": u.get("cached", 0), "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": u.get("reasoning", 0),
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_completion(req: dict, usage: dict, no_usage: bool = False) -> dict:
    out = {
        "id": "chatcmpl-mock0001",
        "object": "chat.completion",
        "created": CREATED,
        "model": response_model(req.get("model")),
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": COMPLETION_TEXT,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": openai_usage(usage),
        "service_tier": "default",
        "system_fingerprint": "fp_mock0001",
    }
    if no_usage:
        del out["usage"]
    return out


def chat_stream_events(req: dict, include_usage: bool, usage: dict) -> list[tuple[None, str]]:
    """OpenAI chat chunks; with include_usage, `"usage":null` on every chunk and a final usage chunk."""
    model = response_model(req.get("model"))

    def chunk(choices: list, usage_value: Any = "absent") -> str:
        obj: dict[str, Any] = {
            "id": "chatcmpl-mock0001",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_mock0001",
            "choices": choices,
        }
        if include_usage:
            obj["usage"] = None if usage_value == "absent" else usage_value
        return _dumps(obj)

    def choice(delta: dict, finish: str | None = None) -> list:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    out = [(None, chunk(choice({"role": "assistant", "content": "", "refusal": None})))]
    out += [(None, chunk(choice({"content": d}))) for d in DELTAS]
    out.append((None, chunk(choice({}, "stop"))))
    if include_usage:
        out.append((None, chunk([], openai_usage(usage))))
    out.append((None, "[DONE]"))
    return out


def text_completion(req: dict, usage: dict) -> dict:
    u = openai_usage(usage)
    u.pop("prompt_tokens_details")
    u.pop("completion_tokens_details")
    return {
        "id": "cmpl-mock0001",
        "object": "text_completion",
        "created": CREATED,
        "model": response_model(req.get("model")),
        "choices": [{"text": COMPLETION_TEXT, "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": u,
    }


def completion_stream_events(req: dict, include_usage: bool, usage: dict) -> list[tuple[None, str]]:
    model = response_model(req.get("model"))

    def chunk(choices: list, usage_value: Any = "absent") -> str:
        obj: dict[str, Any] = {
            "id": "cmpl-mock0001",
            "object": "text_completion",
            "created": CREATED,
            "choices": choices,
            "model": model,
        }
        if include_usage:
            obj["usage"] = None if usage_value == "absent" else usage_value
        return _dumps(obj)

    out = [
        (None, chunk([{"text": d, "index": 0, "logprobs": None, "finish_reason": None}]))
        for d in DELTAS
    ]
    out.append((None, chunk([{"text": "", "index": 0, "logprobs": None, "finish_reason": "stop"}])))
    if include_usage:
        u = openai_usage(usage)
        u.pop("prompt_tokens_details")
        u.pop("completion_tokens_details")
        out.append((None, chunk([], u)))
    out.append((None, "[DONE]"))
    return out


def embeddings(req: dict, usage: dict) -> dict:
    inputs = req.get("input")
    n = len(inputs) if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int) else 1
    data = []
    for i in range(n):
        vec = [round(0.125 * (i + 1) * (k + 1), 6) for k in range(EMBEDDING_DIM)]
        emb: Any = vec
        if req.get("encoding_format") == "base64":
            emb = base64.b64encode(struct.pack(f"<{EMBEDDING_DIM}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": emb})
    return {
        "object": "list",
        "data": data,
        "model": req.get("model", "text-embedding-3-small"),
        "usage": {"prompt_tokens": usage["prompt"], "total_tokens": usage["prompt"]},
    }


def embedding_vector(index: int = 0) -> list[float]:
    return [round(0.125 * (index + 1) * (k + 1), 6) for k in range(EMBEDDING_DIM)]


def models_list() -> dict:
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": CREATED, "owned_by": "system"} for m in MODELS_LIST],
    }


def _responses_usage(u: dict) -> dict:
    return {
        "input_tokens": u["input"],
        "input_tokens_details": {"cached_tokens": u.get("cached", 0)},
        "output_tokens": u["output"],
        "output_tokens_details": {"reasoning_tokens": u.get("reasoning", 0)},
        "total_tokens": u["input"] + u["output"],
    }


def _output_message(status: str) -> dict:
    content = (
        [{"type": "output_text", "text": COMPLETION_TEXT, "annotations": [], "logprobs": []}]
        if status == "completed"
        else []
    )
    return {
        "id": "msg_mock0001",
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def responses_object(req: dict, usage: dict | None, status: str) -> dict:
    return {
        "id": "resp_mock0001",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": req.get("max_output_tokens"),
        "model": response_model(req.get("model")),
        "output": [_output_message("completed")] if status == "completed" else [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _responses_usage(usage) if usage and status == "completed" else None,
        "user": None,
        "metadata": {},
    }


def responses_stream_events(req: dict, usage: dict) -> list[tuple[str, str]]:
    seq = 0
    out: list[tuple[str, str]] = []

    def add(kind: str, **fields: Any) -> None:
        nonlocal seq
        out.append((kind, _dumps({"type": kind, "sequence_number": seq, **fields})))
        seq += 1

    add("response.created", response=responses_object(req, None, "in_progress"))
    add("response.in_progress", response=responses_object(req, None, "in_progress"))
    add("response.output_item.added", output_index=0, item=_output_message("in_progress"))
    add(
        "response.content_part.added",
        item_id="msg_mock0001",
        output_index=0,
        content_index=0,
        part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
    )
    for d in DELTAS:
        add(
            "response.output_text.delta",
            item_id="msg_mock0001",
            output_index=0,
            content_index=0,
            delta=d,
            logprobs=[],
        )
    add(
        "response.output_text.done",
        item_id="msg_mock0001",
        output_index=0,
        content_index=0,
        text=COMPLETION_TEXT,
        logprobs=[],
    )
    add(
        "response.content_part.done",
        item_id="msg_mock0001",
        output_index=0,
        content_index=0,
        part={"type": "output_text", "text": COMPLETION_TEXT, "annotations": [], "logprobs": []},
    )
    add("response.output_item.done", output_index=0, item=_output_message("completed"))
    add("response.completed", response=responses_object(req, usage, "completed"))
    return out


def _anthropic_usage(u: dict, output: int) -> dict:
    return {
        "input_tokens": u["input"],
        "cache_creation_input_tokens": u.get("cache_creation", 0),
        "cache_read_input_tokens": u.get("cache_read", 0),
        "output_tokens": output,
        "service_tier": "standard",
    }


def anthropic_message(req: dict, usage: dict) -> dict:
    return {
        "id": "msg_mock0001",
        "type": "message",
        "role": "assistant",
        "model": response_model(req.get("model")),
        "content": [{"type": "text", "text": COMPLETION_TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(usage, usage["output"]),
    }


def anthropic_stream_events(req: dict, usage: dict) -> list[tuple[str, str]]:
    """message_start (input + cache tokens, placeholder output), blocks, ping, message_delta
    (cumulative output_tokens), message_stop."""
    start_msg = {
        "id": "msg_mock0001",
        "type": "message",
        "role": "assistant",
        "model": response_model(req.get("model")),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _anthropic_usage(usage, 1),
    }
    out = [("message_start", _dumps({"type": "message_start", "message": start_msg}))]
    out.append(
        (
            "content_block_start",
            _dumps({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        )
    )
    # Anthropic's documented ping payload has a space after the colon.
    out.append(("ping", '{"type": "ping"}'))
    for d in DELTAS:
        out.append(
            (
                "content_block_delta",
                _dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}}),
            )
        )
    out.append(("content_block_stop", _dumps({"type": "content_block_stop", "index": 0})))
    out.append(
        (
            "message_delta",
            _dumps(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": usage["output"]},
                }
            ),
        )
    )
    out.append(("message_stop", _dumps({"type": "message_stop"})))
    return out


def openai_error(status: int) -> tuple[dict, list[tuple[str, str]]]:
    if status == 429:
        return (
            {
                "error": {
                    "message": "Rate limit reached for gpt-4o-mini in organization org-mock on requests per min (RPM): Limit 3, Used 3, Requested 1.",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            },
            [("retry-after", "20"), ("x-ratelimit-limit-requests", "3"), ("x-ratelimit-remaining-requests", "0")],
        )
    if status == 401:
        return (
            {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}},
            [],
        )
    if status == 404:
        return (
            {"error": {"message": "The model does not exist.", "type": "invalid_request_error", "param": None, "code": "model_not_found"}},
            [],
        )
    if status >= 500:
        return (
            {"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": None, "code": None}},
            [],
        )
    return (
        {"error": {"message": "We could not parse the JSON body of your request.", "type": "invalid_request_error", "param": None, "code": None}},
        [],
    )


def anthropic_error(status: int) -> tuple[dict, list[tuple[str, str]]]:
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        529: "overloaded_error",
    }
    kind = kinds.get(status, "api_error")
    return (
        {
            "type": "error",
            "error": {"type": kind, "message": f"mock {kind}: messages: field required"},
            "request_id": "req_mock0001",
        },
        [("request-id", "req_mock0001")],
    )


if __name__ == "__main__":  # manual use: python mock_upstream.py
    m = MockUpstream().start()
    print(m.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        m.stop()
