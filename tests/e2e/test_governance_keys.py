"""Virtual keys and governance headers, through the real binary with the official SDKs.

The gateway runs in `auth.mode: virtual_keys`; the providers carry real keys
(`sk-provider-real`, `sk-ant-provider-real`). The caller only ever holds a gateway key, the
upstream only ever sees the provider key.
"""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from helpers import (
    ABSENT,
    PROVIDER_ANTHROPIC_KEY,
    PROVIDER_OPENAI_KEY,
    VK_OPENAI_ONLY,
    VK_SEARCH,
    check_attrs,
    gov_overrides,
    new_test_id,
    request_id,
    sha256hex,
)

MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def gw(scripted_mock, otlp, closed_port, tmp_path_factory):
    from conftest import _make_config, launch_gateway

    workdir = tmp_path_factory.mktemp("gov-keys")
    cfg = _make_config(scripted_mock, otlp, closed_port, workdir, gov_overrides(scripted_mock.url, workdir))
    g = launch_gateway(cfg, workdir, "gov-keys")
    yield g
    g.stop()


def assert_no_virtual_key(rec, virtual_key: str) -> None:
    for k, v in rec.headers:
        assert virtual_key not in v, f"upstream saw the virtual key in header {k}: {v!r}"
    assert virtual_key.encode() not in rec.body, "upstream saw the virtual key in the body"
    assert virtual_key not in rec.target, "upstream saw the virtual key in the URL"


# ---- 1. virtual keys ----------------------------------------------------------------------------

def test_openai_sdk_with_virtual_key_sends_the_provider_key_upstream(gw, scripted_mock, otlp):
    tid = new_test_id()
    client = gw.openai(api_key=VK_SEARCH)
    raw = client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=50, extra_headers={"x-test-id": tid})
    resp = raw.parse()
    assert resp.choices[0].message.content
    rec = scripted_mock.one(tid)
    assert rec.header("authorization") == f"Bearer {PROVIDER_OPENAI_KEY}"
    assert rec.header("x-api-key") is None
    assert_no_virtual_key(rec, VK_SEARCH)
    # The caller never sees the provider key.
    assert PROVIDER_OPENAI_KEY not in raw.http_response.text
    assert all(PROVIDER_OPENAI_KEY not in v for v in raw.headers.values())
    span = otlp.span_for_request(request_id(raw.headers))
    check_attrs(span, {
        "genops.key.name": "search-prod",
        "genops.team": "search",
        "genops.project": "ranking",
        "genops.environment": "production",
        "genops.policy.result": "allowed",
        "http.response.status_code": 200,
    })
    # The key itself never reaches telemetry.
    assert all(VK_SEARCH not in str(v) for v in span["attributes"].values())


def test_anthropic_sdk_with_virtual_key_in_x_api_key(gw, scripted_mock, otlp):
    tid = new_test_id()
    client = gw.anthropic(api_key=VK_SEARCH)
    raw = client.messages.with_raw_response.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES, extra_headers={"x-test-id": tid})
    msg = raw.parse()
    assert msg.content[0].text
    rec = scripted_mock.one(tid)
    assert rec.header("x-api-key") == PROVIDER_ANTHROPIC_KEY
    assert rec.header("authorization") is None
    assert_no_virtual_key(rec, VK_SEARCH)
    span = otlp.span_for_request(request_id(raw.headers))
    check_attrs(span, {"genops.key.name": "search-prod", "genops.team": "search",
                       "gen_ai.provider.name": "anthropic"})


def test_anthropic_sdk_with_virtual_key_as_bearer(gw, scripted_mock, otlp):
    tid = new_test_id()
    client = gw.anthropic(api_key=None, auth_token=VK_SEARCH)
    msg = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES,
                                 extra_headers={"x-test-id": tid})
    assert msg.content[0].text
    rec = scripted_mock.one(tid)
    assert rec.header("x-api-key") == PROVIDER_ANTHROPIC_KEY
    assert rec.header("authorization") is None
    assert_no_virtual_key(rec, VK_SEARCH)


@pytest.mark.parametrize("style", ["bearer", "x-api-key"])
def test_raw_http_anthropic_virtual_key_both_header_styles(gw, scripted_mock, style):
    tid = new_test_id()
    auth = {"authorization": f"Bearer {VK_SEARCH}"} if style == "bearer" else {"x-api-key": VK_SEARCH}
    with gw.http() as c:
        r = c.post("/anthropic/v1/messages",
                   headers={**auth, "anthropic-version": "2023-06-01", "x-test-id": tid},
                   json={"model": "claude-sonnet-4-5", "max_tokens": 32, "messages": MESSAGES})
    assert r.status_code == 200, r.text
    assert r.headers.get("x-genops-request-id")
    rec = scripted_mock.one(tid)
    assert rec.header("x-api-key") == PROVIDER_ANTHROPIC_KEY
    assert_no_virtual_key(rec, VK_SEARCH)


def test_unknown_key_openai_sdk_gets_401(gw, scripted_mock, otlp):
    tid = new_test_id()
    client = gw.openai(api_key="gk-not-a-real-key")
    with pytest.raises(openai.AuthenticationError) as ei:
        client.chat.completions.create(model="gov-model", messages=MESSAGES,
                                       extra_headers={"x-test-id": tid})
    assert ei.value.status_code == 401
    body = ei.value.body
    assert isinstance(body, dict) and body.get("code") == "invalid_api_key", body
    assert PROVIDER_OPENAI_KEY not in ei.value.response.text
    assert scripted_mock.find(tid) == []
    rid = request_id(ei.value.response.headers)
    span = otlp.span_for_request(rid)  # exactly one
    check_attrs(span, {"http.response.status_code": 401, "genops.key.name": ABSENT})
    assert span["status"]["code"] == "ERROR"


def test_missing_key_gets_401_openai_format(gw, scripted_mock):
    tid = new_test_id()
    with gw.http() as c:
        r = c.post("/openai/v1/chat/completions", headers={"x-test-id": tid},
                   json={"model": "gov-model", "messages": MESSAGES})
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "invalid_api_key"
    assert r.headers.get("x-genops-request-id")
    assert scripted_mock.find(tid) == []


def test_caller_presenting_the_provider_key_itself_is_refused(gw, scripted_mock):
    # In virtual_keys mode a provider key is not a gateway key.
    tid = new_test_id()
    client = gw.openai(api_key=PROVIDER_OPENAI_KEY)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gov-model", messages=MESSAGES,
                                       extra_headers={"x-test-id": tid})
    assert scripted_mock.find(tid) == []


def test_unknown_key_anthropic_sdk_gets_401(gw, scripted_mock, otlp):
    tid = new_test_id()
    client = gw.anthropic(api_key="gk-not-a-real-key")
    with pytest.raises(anthropic.AuthenticationError) as ei:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=16, messages=MESSAGES,
                               extra_headers={"x-test-id": tid})
    assert ei.value.status_code == 401
    assert ei.value.body["error"]["type"] == "authentication_error", ei.value.body
    assert scripted_mock.find(tid) == []
    otlp.span_for_request(request_id(ei.value.response.headers))


def test_key_not_allowed_for_provider_gets_403(gw, scripted_mock, otlp):
    tid = new_test_id()
    client = gw.anthropic(api_key=VK_OPENAI_ONLY)
    with pytest.raises(anthropic.PermissionDeniedError) as ei:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=16, messages=MESSAGES,
                               extra_headers={"x-test-id": tid})
    assert ei.value.status_code == 403
    assert scripted_mock.find(tid) == []
    span = otlp.span_for_request(request_id(ei.value.response.headers))
    check_attrs(span, {"genops.key.name": "openai-only", "http.response.status_code": 403,
                       "genops.policy.result": "blocked"})
    # The same key works for OpenAI.
    tid2 = new_test_id()
    gw.openai(api_key=VK_OPENAI_ONLY).chat.completions.create(
        model="gov-model", messages=MESSAGES, max_tokens=10, extra_headers={"x-test-id": tid2})
    assert scripted_mock.one(tid2).header("authorization") == f"Bearer {PROVIDER_OPENAI_KEY}"


# ---- 2. governance headers cannot override key-bound attributes ---------------------------------

def test_header_cannot_override_key_bound_team_but_fills_unbound(gw, scripted_mock, otlp):
    tid = new_test_id()
    client = gw.openai(api_key=VK_SEARCH)
    raw = client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=10,
        extra_headers={"x-test-id": tid, "x-genops-team": "evil", "x-genops-customer-id": "cust-42",
                       "x-genops-feature": "autocomplete"})
    assert raw.http_response.status_code == 200
    rec = scripted_mock.one(tid)
    assert not any(n.startswith("x-genops-") for n in rec.header_names()), rec.headers
    span = otlp.span_for_request(request_id(raw.headers))
    check_attrs(span, {"genops.team": "search", "genops.customer_id": "cust-42",
                       "genops.feature": "autocomplete", "genops.key.name": "search-prod"})


@pytest.mark.parametrize("value", ["bad value with spaces", "x" * 300, "semi;colon"])
def test_bad_governance_header_value_gets_400(gw, scripted_mock, otlp, value):
    tid = new_test_id()
    client = gw.openai(api_key=VK_SEARCH)
    with pytest.raises(openai.BadRequestError) as ei:
        client.chat.completions.create(model="gov-model", messages=MESSAGES,
                                       extra_headers={"x-test-id": tid, "x-genops-customer-id": value})
    assert ei.value.status_code == 400
    assert scripted_mock.find(tid) == []
    otlp.span_for_request(request_id(ei.value.response.headers))


# ---- 9. every response carries a request id -----------------------------------------------------

def test_request_id_on_every_kind_of_response(gw):
    with gw.http() as c:
        ok = c.post("/openai/v1/chat/completions", headers={"authorization": f"Bearer {VK_SEARCH}"},
                    json={"model": "gov-model", "messages": MESSAGES, "max_tokens": 5})
        unauth = c.post("/openai/v1/chat/completions", json={"model": "gov-model", "messages": MESSAGES})
        bad = c.post("/openai/v1/chat/completions", headers={"authorization": f"Bearer {VK_SEARCH}"},
                     content=b"{not json")
        models = c.get("/openai/v1/models", headers={"authorization": f"Bearer {VK_SEARCH}"})
    for r, status in ((ok, 200), (unauth, 401), (bad, 400), (models, 200)):
        assert r.status_code == status, (r.status_code, r.text)
        assert r.headers.get("x-genops-request-id"), (status, dict(r.headers))
    ids = {r.headers["x-genops-request-id"] for r in (ok, unauth, bad, models)}
    assert len(ids) == 4


def test_minted_then_revoked_key(gw, scripted_mock):
    # http.md admin API: POST /admin/keys mints (the only time the key is shown); DELETE revokes,
    # and the key gets 401 from then on.
    admin = {"authorization": "Bearer test-admin-token"}
    r = httpx.post(gw.admin + "/admin/keys", headers=admin,
                   json={"name": "minted-e2e", "team": "search", "providers": ["openai"]})
    assert r.status_code == 201, r.text
    minted = r.json()
    key = minted["key"]
    assert minted["key_sha256"] == sha256hex(key)
    tid = new_test_id()
    gw.openai(api_key=key).chat.completions.create(model="gov-model", messages=MESSAGES, max_tokens=5,
                                                   extra_headers={"x-test-id": tid})
    assert_no_virtual_key(scripted_mock.one(tid), key)
    listed = httpx.get(gw.admin + "/admin/keys", headers=admin)
    assert listed.status_code == 200 and key not in listed.text
    assert httpx.delete(gw.admin + "/admin/keys/minted-e2e", headers=admin).status_code in (200, 204)
    tid2 = new_test_id()
    with pytest.raises(openai.AuthenticationError):
        gw.openai(api_key=key).chat.completions.create(model="gov-model", messages=MESSAGES,
                                                       extra_headers={"x-test-id": tid2})
    assert scripted_mock.find(tid2) == []
