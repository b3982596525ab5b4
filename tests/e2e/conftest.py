"""Fixtures: the mock provider, the OTLP receiver, and the real gateway binary on free ports.

- `mock` (session): a running MockUpstream (`mock.url`, `mock.find(test_id)`, `mock.one(test_id)`).
- `otlp` (session): a running OtlpReceiver (`otlp.endpoint`, `otlp.span_for_request(rid)`, ...).
- `closed_port` (session): a loopback port with nothing listening (for "upstream unreachable").
- `start_gateway(overrides=None, name="gw") -> Gateway` (function): writes a config (the base
  config below deep-merged with `overrides`; lists are replaced) into a temp dir and starts
  `$GENOPS_BIN serve --config FILE`; stopped (SIGINT, SIGKILL after 10 s) at teardown.
- `module_gateway(request, ...)`: modules set `GATEWAY_OVERRIDES = {...}` at module level and use
  the module-scoped `gateway` fixture (one gateway process per test module).

The gateway's log (stdout+stderr) of every live gateway is attached to a failing test's report.
"""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
import yaml

from helpers import write_catalogs
from mock_upstream import MockUpstream
from otlp_receiver import OtlpReceiver

REPO_ROOT = Path(__file__).resolve().parents[2]
CALLER_OPENAI_KEY = "sk-test-caller-openai"
CALLER_ANTHROPIC_KEY = "sk-ant-test-caller"

# Variables that would change what the gateway does behind the config's back.
_SCRUBBED_PREFIXES = ("OTEL_", "GENOPS_", "DD_", "DATADOG_")
_SCRUBBED = {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
             "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
             "http_proxy", "https_proxy", "all_proxy"}

_LIVE: list["Gateway"] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gateway_bin() -> Path:
    p = Path(os.environ.get("GENOPS_BIN") or REPO_ROOT / "target/debug/genops-gateway")
    return p if p.is_absolute() else REPO_ROOT / p


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def base_config(*, mock_url: str, otlp_endpoint: str, closed_port: int, proxy_port: int,
                admin_port: int, workdir: Path) -> dict:
    pricing = write_catalogs(workdir / "pricing")
    return {
        "listen": f"127.0.0.1:{proxy_port}",
        "admin": {"listen": f"127.0.0.1:{admin_port}", "token": "test-admin-token"},
        "providers": {
            "openai": {"kind": "openai", "base_url": mock_url},
            "anthropic": {"kind": "anthropic", "base_url": mock_url},
            "compat": {"kind": "openai", "base_url": mock_url},
            "closed": {"kind": "openai", "base_url": f"http://127.0.0.1:{closed_port}"},
            "closed-anthropic": {"kind": "anthropic", "base_url": f"http://127.0.0.1:{closed_port}"},
        },
        "default_provider": "openai",
        "auth": {"mode": "passthrough"},
        "pricing": {"catalogs": [str(pricing)], "unknown_model": "allow"},
        "ledger": {"backend": "memory", "path": str(workdir / "ledger")},
        "limits": {
            "max_body_bytes": 10 * 1024 * 1024,
            "upstream_connect_timeout_ms": 2000,
            "upstream_first_byte_timeout_ms": 15000,
            "upstream_idle_timeout_ms": 15000,
        },
        "telemetry": {
            "service_name": "genops-gateway-e2e",
            "environment": "e2e",
            "exporter": "otlp",
            "otlp": {"endpoint": otlp_endpoint, "protocol": "http/protobuf"},
            "sampling_rate": 1.0,
            "batch": {"max_queue": 8192, "max_batch": 512, "interval_ms": 200},
            "metrics_interval_ms": 500,
        },
    }


@dataclass
class Gateway:
    proc: subprocess.Popen
    proxy_port: int
    admin_port: int
    config: dict
    config_path: Path
    log_path: Path
    name: str = "gw"
    _log_file: Any = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def url(self, path: str) -> str:
        return self.base + path

    def openai(self, prefix: str = "/openai/v1", **kw: Any):
        import openai

        kw.setdefault("api_key", CALLER_OPENAI_KEY)
        kw.setdefault("max_retries", 0)
        kw.setdefault("timeout", 30.0)
        return openai.OpenAI(base_url=self.base + prefix, **kw)

    def anthropic(self, prefix: str = "/anthropic", **kw: Any):
        import anthropic

        kw.setdefault("api_key", CALLER_ANTHROPIC_KEY)
        kw.setdefault("max_retries", 0)
        kw.setdefault("timeout", 30.0)
        return anthropic.Anthropic(base_url=self.base + prefix, **kw)

    def http(self, **kw: Any) -> httpx.Client:
        kw.setdefault("timeout", 30.0)
        return httpx.Client(base_url=self.base, **kw)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log_file is not None:
            self._log_file.close()
        if self in _LIVE:
            _LIVE.remove(self)


def launch_gateway(config: dict, workdir: Path, name: str = "gw", env: dict | None = None,
                   ready_timeout: float = 30.0) -> Gateway:
    binary = gateway_bin()
    if not binary.exists():
        pytest.fail(f"gateway binary not found at {binary} (build it: cargo build; or set GENOPS_BIN)")
    workdir.mkdir(parents=True, exist_ok=True)
    cfg_path = workdir / f"{name}.yaml"
    cfg_path.write_text(yaml.safe_dump(config, sort_keys=False))
    log_path = workdir / f"{name}.log"
    log_file = open(log_path, "wb")
    run_env = {k: v for k, v in os.environ.items()
               if k not in _SCRUBBED and not k.startswith(_SCRUBBED_PREFIXES)}
    run_env.setdefault("RUST_BACKTRACE", "1")
    run_env.update(env or {})
    proc = subprocess.Popen(
        [str(binary), "serve", "--config", str(cfg_path)],
        cwd=workdir,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=run_env,
    )
    proxy_port = int(config["listen"].rsplit(":", 1)[1])
    admin_port = int(config["admin"]["listen"].rsplit(":", 1)[1])
    gw = Gateway(proc, proxy_port, admin_port, config, cfg_path, log_path, name, log_file)
    _LIVE.append(gw)
    deadline = time.monotonic() + ready_timeout
    while True:
        if proc.poll() is not None:
            gw.stop()
            pytest.fail(f"gateway exited with {proc.returncode} before /healthz answered; log:\n{gw.log()[-8000:]}")
        try:
            r = httpx.get(f"{gw.admin}/healthz", timeout=1.0)
            if r.status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            gw.stop()
            pytest.fail(f"gateway /healthz not 200 within {ready_timeout}s; log:\n{gw.log()[-8000:]}")
        time.sleep(0.05)
    # The proxy listener may come up a moment after the admin one.
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", proxy_port), timeout=1.0):
                break
        except OSError:
            time.sleep(0.05)
    return gw


@pytest.fixture(scope="session")
def mock():
    m = MockUpstream().start()
    yield m
    m.stop()


@pytest.fixture(scope="session")
def otlp():
    r = OtlpReceiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def closed_port() -> int:
    return free_port()


def _make_config(mock: MockUpstream, otlp: OtlpReceiver, closed_port: int, workdir: Path,
                 overrides: dict | None) -> dict:
    cfg = base_config(mock_url=mock.url, otlp_endpoint=otlp.endpoint, closed_port=closed_port,
                      proxy_port=free_port(), admin_port=free_port(), workdir=workdir)
    if overrides:
        cfg = deep_merge(cfg, overrides)
    return cfg


@pytest.fixture
def start_gateway(mock, otlp, closed_port, tmp_path) -> Callable[..., Gateway]:
    started: list[Gateway] = []

    def start(overrides: dict | None = None, name: str = "gw", env: dict | None = None) -> Gateway:
        workdir = tmp_path / name
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = _make_config(mock, otlp, closed_port, workdir, overrides)
        gw = launch_gateway(cfg, workdir, name, env)
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()


@pytest.fixture(scope="module")
def gateway(request, mock, otlp, closed_port, tmp_path_factory) -> Gateway:
    """One gateway per test module, configured with the module's GATEWAY_OVERRIDES (if any)."""
    overrides = getattr(request.module, "GATEWAY_OVERRIDES", None)
    workdir = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    cfg = _make_config(mock, otlp, closed_port, workdir, overrides)
    gw = launch_gateway(cfg, workdir, "gw")
    yield gw
    gw.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if rep.failed and _LIVE:
        for gw in _LIVE:
            rep.sections.append((f"gateway log ({gw.name}, tail)", gw.log()[-6000:]))
    return rep


# ---- a mock whose completion text the test chooses (governance tests) ---------------------------

class ScriptedMock(MockUpstream):
    """MockUpstream plus two switches for OpenAI chat completions and Anthropic messages (stream
    and not):

    - `x-mock-deltas`: a JSON list of strings, the completion's content deltas (ASCII JSON, so
      any text fits a header via JSON escapes);
    - `x-mock-repeat: N`: send that list N times (a long completion without a long header).

    Without `x-mock-deltas` it answers exactly like MockUpstream.
    """

    async def _respond(self, rec, reader, writer):  # type: ignore[override]
        import json as _json

        import mock_upstream as mu

        scripted = rec.header("x-mock-deltas")
        chat = rec.path.endswith("/chat/completions")
        messages = rec.path.endswith("/messages")
        if scripted is None or not (chat or messages) or rec.header("x-mock-error"):
            return await super()._respond(rec, reader, writer)
        deltas = [str(d) for d in _json.loads(scripted)] * int(rec.header("x-mock-repeat") or 1)
        modes = {m.strip() for m in (rec.header("x-mock-chunking") or "whole").split(",") if m.strip()}
        conn = mu._Conn(writer, rec, modes)
        req = _json.loads(rec.body) if rec.body else {}
        if messages:
            return await self._anthropic(conn, rec, req, deltas, modes)
        usage = {**mu.OPENAI_USAGE, **_json.loads(rec.header("x-mock-usage") or "{}")}
        cut = rec.header("x-mock-cut-after")
        delay = int(rec.header("x-mock-event-delay-ms") or 0) / 1000
        no_usage = bool(rec.header("x-mock-no-usage"))
        if not req.get("stream"):
            body = mu.chat_completion(req, usage, no_usage)
            body["choices"][0]["message"]["content"] = "".join(deltas)
            await conn.send_json(200, body)
            return True
        include = bool((req.get("stream_options") or {}).get("include_usage")) and not no_usage
        base = mu.chat_stream_events(req, include, usage)
        # base = [role chunk] + one chunk per mu.DELTAS + [stop chunk, (usage chunk), [DONE]]
        template = _json.loads(base[1][1])
        events = [base[0]]
        for d in deltas:
            template["choices"][0]["delta"] = {"content": d}
            events.append((None, mu._dumps(template)))
        events += base[1 + len(mu.DELTAS):]
        return await self._stream(conn, events, modes, int(cut) if cut is not None else None, delay)

    async def _anthropic(self, conn, rec, req, deltas, modes):
        import json as _json

        import mock_upstream as mu

        usage = {**mu.ANTHROPIC_USAGE, **_json.loads(rec.header("x-mock-usage") or "{}")}
        if not req.get("stream"):
            body = mu.anthropic_message(req, usage)
            body["content"] = [{"type": "text", "text": "".join(deltas)}]
            await conn.send_json(200, body)
            return True
        base = mu.anthropic_stream_events(req, usage)
        # base = [message_start, content_block_start, ping] + one delta per mu.DELTAS + [stop...]
        events = base[:3]
        for d in deltas:
            events.append(("content_block_delta", mu._dumps(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}})))
        events += base[3 + len(mu.DELTAS):]
        cut = rec.header("x-mock-cut-after")
        delay = int(rec.header("x-mock-event-delay-ms") or 0) / 1000
        return await self._stream(conn, events, modes, int(cut) if cut is not None else None, delay)


@pytest.fixture(scope="session")
def scripted_mock():
    m = ScriptedMock().start()
    yield m
    m.stop()
