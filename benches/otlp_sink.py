#!/usr/bin/env python3
"""An OTLP/HTTP sink for the load benchmark: accepts every export and discards it.

The gateway's exporter must do its full work (encode, batch, POST) while the benchmark measures
the gateway, so the sink answers 200 to POST /v1/traces and /v1/metrics without decoding.
Usage: python3 benches/otlp_sink.py [PORT]   (default 14318)
"""
import http.server
import sys


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 14318
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()
