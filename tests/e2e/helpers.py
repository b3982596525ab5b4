"""Shared expectations for the end-to-end tests: the test price catalog, exact costs, tokenizer."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

import yaml

# Prices per million tokens (USD). Every price has at most 3 decimals, so a token costs a whole
# number of nano-USD and expected costs are exact. Aliases and the dated snapshots the mock
# answers with carry the same prices, so the test does not care which name the gateway prices by.
_GPT4O_MINI = {"input": 0.15, "cached_input": 0.075, "output": 0.6, "max_output_tokens": 16384}
_INSTRUCT = {"input": 1.5, "output": 2.0, "max_output_tokens": 4096}
_EMB = {"input": 0.02, "output": 0.0}
_SONNET = {"input": 3.0, "cached_input": 0.3, "cache_write": 3.75, "output": 15.0, "max_output_tokens": 64000}

CATALOGS = {
    "test-openai.yaml": {
        "provider": "openai",
        "currency": "USD",
        "models": {
            "gpt-4o-mini": _GPT4O_MINI,
            "gpt-4o-mini-2024-07-18": _GPT4O_MINI,
            "gpt-3.5-turbo-instruct": _INSTRUCT,
            "text-embedding-3-small": _EMB,
        },
    },
    "test-anthropic.yaml": {
        "provider": "anthropic",
        "currency": "USD",
        "models": {"claude-sonnet-4-5": _SONNET, "claude-sonnet-4-5-20250929": _SONNET},
    },
}


def write_catalogs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in CATALOGS.items():
        (folder / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def price(provider: str, model: str) -> dict:
    for doc in CATALOGS.values():
        if doc["provider"] == provider and model in doc["models"]:
            return doc["models"][model]
    raise KeyError(f"{provider}/{model} not in the test catalog")


def _nano_per_token(per_million_usd: float) -> int:
    # USD per 1e6 tokens -> nano-USD per token = price * 1000 (exact for <= 3 decimals)
    v = Decimal(str(per_million_usd)) * 1000
    assert v == v.to_integral_value(), "test prices must have at most 3 decimals"
    return int(v)


def expected_cost_nano(provider: str, model: str, *, input_uncached: int, cached: int = 0,
                       cache_creation: int = 0, output: int = 0) -> int:
    p = price(provider, model)
    return (
        input_uncached * _nano_per_token(p["input"])
        + cached * _nano_per_token(p.get("cached_input", p["input"]))
        + cache_creation * _nano_per_token(p.get("cache_write", p["input"]))
        + output * _nano_per_token(p["output"])
    )


def assert_cost(value: object, expected_nano: int) -> None:
    assert isinstance(value, float), f"cost should be a double attribute, got {value!r}"
    expected = expected_nano / 1e9
    assert abs(value - expected) <= 1e-12 + 1e-9 * expected, f"cost {value!r} != expected {expected!r}"


def new_test_id() -> str:
    """A unique marker sent as `x-test-id` so the mock's record of this call can be found."""
    return uuid.uuid4().hex


# ---- tokenizer -----------------------------------------------------------------------------------

_O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def o200k():
    """tiktoken's o200k_base, loaded without network: tiktoken fetches its BPE file from a blob
    store, so seed tiktoken's cache with the copy tiktoken-rs ships (cargo has it in its registry
    once the gateway is built)."""
    import tiktoken

    cache = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or Path(tempfile.gettempdir()) / "genops-tiktoken-cache")
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / hashlib.sha1(_O200K_URL.encode()).hexdigest()
    if not target.exists():
        cargo_home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
        found = sorted(glob.glob(str(cargo_home / "registry/src/*/tiktoken-rs-*/assets/o200k_base.tiktoken")))
        if found:
            shutil.copyfile(found[-1], target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    return tiktoken.get_encoding("o200k_base")


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


# ---- span assertions -----------------------------------------------------------------------------

class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ABSENT = _Marker("<absent>")
PRESENT = _Marker("<present>")


class Cost:
    """Expected USD double attribute, given in exact nano-USD."""

    def __init__(self, nano: int) -> None:
        self.nano = nano

    def matches(self, value: object) -> bool:
        expected = self.nano / 1e9
        return isinstance(value, float) and abs(value - expected) <= 1e-12 + 1e-9 * expected

    def __repr__(self) -> str:
        return f"Cost({self.nano / 1e9!r} USD)"


def check_attrs(span: dict, expected: dict) -> None:
    """Asserts every expected attribute at once (one message listing every mismatch).
    Values: a literal (ints must be ints, not doubles or bools), ABSENT, PRESENT, a Cost, or a
    predicate (callable returning bool)."""
    attrs = span["attributes"]
    problems = []
    for key, want in expected.items():
        got = attrs.get(key, ABSENT)
        if want is ABSENT:
            ok = got is ABSENT
        elif want is PRESENT:
            ok = got is not ABSENT
        elif isinstance(want, Cost):
            ok = want.matches(got)
        elif callable(want):
            ok = bool(want(got))  # the predicate sees ABSENT when the attribute is missing
        elif isinstance(want, bool):
            ok = got is want
        elif isinstance(want, int):
            ok = type(got) is int and got == want
        else:
            ok = got == want
        if not ok:
            problems.append(f"  {key}: expected {want!r}, got {got!r}")
    if problems:
        raise AssertionError(
            "span attributes differ:\n" + "\n".join(problems)
            + f"\nspan name={span['name']!r} kind={span['kind']} status={span['status']}\nall attributes: {attrs}"
        )


def request_id(headers) -> str:
    rid = headers.get("x-genops-request-id")
    assert rid, f"response has no x-genops-request-id header: {dict(headers)}"
    return rid


def metered(provider: str, *, request_model: str, response_model: str | None, input_tokens: int,
            output_tokens: int, cost_nano: int, source: str = "usage") -> dict:
    """The attributes every metered, allowed call's span carries."""
    out = {
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": request_model,
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        "genops.tokens.input": input_tokens,
        "genops.tokens.output": output_tokens,
        "genops.tokens.total": input_tokens + output_tokens,
        "genops.tokens.source": source,
        "genops.cost.total": Cost(cost_nano),
        "gen_ai.cost.estimated_total": Cost(cost_nano),
        "genops.cost.currency": "USD",
        "genops.policy.result": "allowed",
        "genops.spec.version": "0.1.0",
        "http.response.status_code": 200,
    }
    if response_model is not None:
        out["gen_ai.response.model"] = response_model
    return out


# ---- governance tests: virtual keys, a price catalog with round numbers, policy files -----------

PROVIDER_OPENAI_KEY = "sk-provider-real"
PROVIDER_ANTHROPIC_KEY = "sk-ant-provider-real"

# $1 per million input tokens (1000 nano-USD a token) and $1000 per million output tokens
# (exactly $0.001 a token): a call's cost is dominated by output, which tests set exactly through
# `max_tokens` (reservation) and `x-mock-usage` (settlement).
_GOV = {"input": 1.0, "output": 1000.0, "max_output_tokens": 2000}
# Downgrade pair: the frontier model costs 10x the small one.
_GOV_BIG = {"input": 10.0, "output": 1000.0, "max_output_tokens": 2000}
_GOV_SMALL = {"input": 1.0, "output": 100.0, "max_output_tokens": 2000}

GOV_CATALOGS = {
    "gov-openai.yaml": {
        "provider": "openai",
        "currency": "USD",
        "models": {
            "gov-model": _GOV,
            "gpt-4o": _GOV_BIG,
            "gpt-4o-2024-08-06": _GOV_BIG,
            "gpt-4o-mini": _GOV_SMALL,
            "gpt-4o-mini-2024-07-18": _GOV_SMALL,
        },
    },
    "gov-anthropic.yaml": {
        "provider": "anthropic",
        "currency": "USD",
        "models": {"claude-sonnet-4-5": _SONNET, "claude-sonnet-4-5-20250929": _SONNET},
    },
}

NANO_PER_INPUT_TOKEN = 1_000
NANO_PER_OUTPUT_TOKEN = 1_000_000


def sha256hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_gov_catalogs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in GOV_CATALOGS.items():
        (folder / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def write_policies(folder: Path, rules: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(yaml.safe_dump({"rules": rules}, sort_keys=False))
    return folder


def gov_cost_nano(prompt: int, completion: int, model: str = "gov-model") -> int:
    p = GOV_CATALOGS["gov-openai.yaml"]["models"][model]
    return prompt * _nano_per_token(p["input"]) + completion * _nano_per_token(p["output"])


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Virtual keys the governance tests present (the gateway stores only their SHA-256).
VK_SEARCH = "gk-search-prod-0001"
VK_OPENAI_ONLY = "gk-openai-only-0002"
VK_INTERN = "gk-intern-0003"


def gov_keys() -> list[dict]:
    return [
        {"name": "search-prod", "key_sha256": sha256hex(VK_SEARCH), "team": "search",
         "project": "ranking", "environment": "production", "providers": ["openai", "anthropic"]},
        {"name": "openai-only", "key_sha256": sha256hex(VK_OPENAI_ONLY), "team": "search",
         "providers": ["openai"]},
        {"name": "intern", "key_sha256": sha256hex(VK_INTERN), "team": "interns"},
    ]


def gov_overrides(mock_url: str, workdir: Path, *, budgets: list | None = None,
                  rate_limits: list | None = None, rules: list | None = None,
                  keys: list | None = None) -> dict:
    """Overrides for `start_gateway`: virtual keys, real provider keys on the providers (pointing
    at `mock_url`), the governance catalog, and optional budgets / rate limits / policy rules."""
    workdir.mkdir(parents=True, exist_ok=True)
    out: dict = {
        "providers": {
            "openai": {"kind": "openai", "base_url": mock_url, "api_key": PROVIDER_OPENAI_KEY},
            "anthropic": {"kind": "anthropic", "base_url": mock_url, "api_key": PROVIDER_ANTHROPIC_KEY},
        },
        "auth": {"mode": "virtual_keys"},
        "keys": keys if keys is not None else gov_keys(),
        "pricing": {"catalogs": [str(write_gov_catalogs(workdir / "gov-pricing"))], "unknown_model": "allow"},
    }
    if budgets is not None:
        out["budgets"] = budgets
    if rate_limits is not None:
        out["rate_limits"] = rate_limits
    if rules is not None:
        out["policies"] = {"files": [str(write_policies(workdir / "gov-policies", rules))]}
    return out
