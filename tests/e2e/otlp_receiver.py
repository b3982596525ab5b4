"""A real OTLP/HTTP (protobuf) receiver: POST /v1/traces and /v1/metrics on a free loopback port.

Decoded spans and metrics are kept as plain dicts so tests can assert on them:

span = {"name", "kind" ("CLIENT", ...), "trace_id", "span_id", "parent_span_id" (hex, "" if root),
        "status": {"code": "UNSET"|"OK"|"ERROR", "message"}, "attributes": {key: typed value},
        "events": [{"name", "attributes", "time_unix_nano"}], "resource": {key: value},
        "scope": name, "start_time_unix_nano", "end_time_unix_nano"}
metric = {"name", "unit", "description", "type" ("sum"|"gauge"|"histogram"|...),
          "temporality" ("DELTA"|"CUMULATIVE"|None), "is_monotonic", "resource",
          "data_points": [{"attributes", "value"? , "count"?, "sum"?, "bucket_counts"?,
                           "explicit_bounds"?, "start_time_unix_nano", "time_unix_nano"}]}
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2


def any_value(v: common_pb2.AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind)


def attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in kvs}


_KIND = {v: k.replace("SPAN_KIND_", "") for k, v in trace_pb2.Span.SpanKind.items()}
_STATUS = {v: k.replace("STATUS_CODE_", "") for k, v in trace_pb2.Status.StatusCode.items()}
_TEMPORALITY = {
    v: k.replace("AGGREGATION_TEMPORALITY_", "") for k, v in metrics_pb2.AggregationTemporality.items()
}


def decode_traces(req: trace_service_pb2.ExportTraceServiceRequest) -> list[dict]:
    out = []
    for rs in req.resource_spans:
        resource = attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    {
                        "name": s.name,
                        "kind": _KIND.get(s.kind, str(s.kind)),
                        "trace_id": s.trace_id.hex(),
                        "span_id": s.span_id.hex(),
                        "parent_span_id": s.parent_span_id.hex(),
                        "status": {"code": _STATUS.get(s.status.code, str(s.status.code)), "message": s.status.message},
                        "attributes": attrs(s.attributes),
                        "events": [
                            {"name": e.name, "attributes": attrs(e.attributes), "time_unix_nano": e.time_unix_nano}
                            for e in s.events
                        ],
                        "resource": resource,
                        "scope": ss.scope.name,
                        "start_time_unix_nano": s.start_time_unix_nano,
                        "end_time_unix_nano": s.end_time_unix_nano,
                    }
                )
    return out


def _number_point(p: Any) -> dict:
    kind = p.WhichOneof("value")
    return {
        "attributes": attrs(p.attributes),
        "value": getattr(p, kind) if kind else None,
        "start_time_unix_nano": p.start_time_unix_nano,
        "time_unix_nano": p.time_unix_nano,
    }


def decode_metrics(req: metrics_service_pb2.ExportMetricsServiceRequest) -> list[dict]:
    out = []
    for rm in req.resource_metrics:
        resource = attrs(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                entry: dict[str, Any] = {
                    "name": m.name,
                    "unit": m.unit,
                    "description": m.description,
                    "type": kind,
                    "temporality": None,
                    "is_monotonic": None,
                    "resource": resource,
                    "scope": sm.scope.name,
                    "data_points": [],
                }
                if kind == "sum":
                    entry["temporality"] = _TEMPORALITY.get(m.sum.aggregation_temporality)
                    entry["is_monotonic"] = m.sum.is_monotonic
                    entry["data_points"] = [_number_point(p) for p in m.sum.data_points]
                elif kind == "gauge":
                    entry["data_points"] = [_number_point(p) for p in m.gauge.data_points]
                elif kind == "histogram":
                    entry["temporality"] = _TEMPORALITY.get(m.histogram.aggregation_temporality)
                    entry["data_points"] = [
                        {
                            "attributes": attrs(p.attributes),
                            "count": p.count,
                            "sum": p.sum,
                            "bucket_counts": list(p.bucket_counts),
                            "explicit_bounds": list(p.explicit_bounds),
                            "start_time_unix_nano": p.start_time_unix_nano,
                            "time_unix_nano": p.time_unix_nano,
                        }
                        for p in m.histogram.data_points
                    ]
                elif kind == "exponential_histogram":
                    entry["temporality"] = _TEMPORALITY.get(m.exponential_histogram.aggregation_temporality)
                    entry["data_points"] = [
                        {"attributes": attrs(p.attributes), "count": p.count, "sum": p.sum}
                        for p in m.exponential_histogram.data_points
                    ]
                out.append(entry)
    return out


class OtlpReceiver:
    """Threaded HTTP server storing decoded spans/metrics. `endpoint` is the base URL."""

    def __init__(self) -> None:
        self.spans: list[dict] = []
        self.metrics: list[dict] = []
        self.posts: list[dict] = []  # {"path", "headers", "size"} for every export request
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "OtlpReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                enc = (self.headers.get("Content-Encoding") or "").lower()
                if enc == "gzip":
                    raw = gzip.decompress(raw)
                elif enc == "deflate":
                    raw = zlib.decompress(raw)
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if ctype != "application/x-protobuf":
                    self._answer(415, b"", "text/plain")
                    return
                path = self.path.split("?")[0]
                try:
                    if path == "/v1/traces":
                        req = trace_service_pb2.ExportTraceServiceRequest()
                        req.ParseFromString(raw)
                        receiver._add(path, dict(self.headers), len(raw), spans=decode_traces(req))
                        body = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                    elif path == "/v1/metrics":
                        req = metrics_service_pb2.ExportMetricsServiceRequest()
                        req.ParseFromString(raw)
                        receiver._add(path, dict(self.headers), len(raw), metrics=decode_metrics(req))
                        body = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()
                    else:
                        self._answer(404, b"", "text/plain")
                        return
                except Exception as exc:  # a malformed export is a test failure, keep the reason
                    receiver._add(path, dict(self.headers), len(raw), error=repr(exc))
                    self._answer(400, repr(exc).encode(), "text/plain")
                    return
                self._answer(200, body, "application/x-protobuf")

            def _answer(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _add(self, path: str, headers: dict, size: int, spans: list | None = None,
             metrics: list | None = None, error: str | None = None) -> None:
        with self._cond:
            self.posts.append({"path": path, "headers": headers, "size": size, "error": error})
            self.spans.extend(spans or [])
            self.metrics.extend(metrics or [])
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self.spans.clear()
            self.metrics.clear()
            self.posts.clear()

    # ---- waiting helpers -------------------------------------------------------------------
    def wait_for_spans(self, n: int = 1, timeout: float = 10.0,
                       predicate: Callable[[dict], bool] | None = None) -> list[dict]:
        """Waits until at least n spans (matching predicate) arrived; returns all matching."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [s for s in self.spans if predicate is None or predicate(s)]
                if len(found) >= n:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    names = [(s["name"], s["attributes"].get("genops.request_id")) for s in self.spans]
                    raise AssertionError(
                        f"expected {n} span(s) within {timeout}s, got {len(found)}; all spans: {names}"
                    )
                self._cond.wait(left)

    def spans_for_request(self, request_id: str, timeout: float = 10.0, settle: float = 0.5) -> list[dict]:
        """Spans whose genops.request_id is request_id: waits for one, then `settle` seconds more
        (a few batch intervals) so duplicates would show up too."""
        pred = lambda s: s["attributes"].get("genops.request_id") == request_id  # noqa: E731
        self.wait_for_spans(1, timeout, pred)
        time.sleep(settle)
        with self._cond:
            return [s for s in self.spans if pred(s)]

    def span_for_request(self, request_id: str, timeout: float = 10.0, settle: float = 0.5) -> dict:
        """The one span for request_id (asserts there is exactly one)."""
        found = self.spans_for_request(request_id, timeout, settle)
        assert len(found) == 1, f"expected exactly one span for request {request_id}, got {len(found)}: {found}"
        return found[0]

    def wait_for_metric(self, name: str, timeout: float = 10.0,
                        predicate: Callable[[dict], bool] | None = None) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.metrics if m["name"] == name and (predicate is None or predicate(m))]
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    names = sorted({m["name"] for m in self.metrics})
                    raise AssertionError(f"no metric {name} within {timeout}s; got {names}")
                self._cond.wait(left)
