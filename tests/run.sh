#!/usr/bin/env bash
# The test command: Rust unit/integration tests, then the end-to-end suite against the real binary.
# Run from anywhere: bash tests/run.sh   (extra arguments go to pytest, e.g. -k stream -x)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PYTHON="${PYTHON:-python3}"

section() { printf '\n=== %s ===\n' "$*"; }

section "python dependencies"
if ! "$PYTHON" -c 'import pytest, pytest_timeout, openai, anthropic, httpx, yaml, tiktoken, prometheus_client, opentelemetry.proto, opentelemetry.exporter.otlp.proto.http' 2>/dev/null; then
    "$PYTHON" -m pip install -q -r tests/e2e/requirements.txt
else
    echo "already installed"
fi

section "cargo build"
cargo build

section "rust tests"
if cargo nextest --version >/dev/null 2>&1; then
    # nextest does not run doctests; run them separately.
    cargo nextest run --no-fail-fast --no-tests=warn
    cargo test --doc
else
    cargo test --no-fail-fast
fi

section "end-to-end tests"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export GENOPS_BIN="${GENOPS_BIN:-$TARGET_DIR/debug/genops-gateway}"
echo "GENOPS_BIN=$GENOPS_BIN"
"$PYTHON" -m pytest -q tests/e2e "$@"
