"""Issue 5: the admin API on the admin listener — keys, spend, budgets, readiness, the token."""

from __future__ import annotations

import openai
import pytest

from admin_util import MSGS, PROVIDER_KEY, TOKEN, VIRTUAL_KEYS, admin, spend_rows, wait_for
from helpers import expected_cost_nano, new_test_id

CHAT_COST = expected_cost_nano("openai", "gpt-4o-mini", input_uncached=27, output=42)


@pytest.mark.parametrize("backend", ["memory", "embedded"])
def test_minted_key_works_is_reported_and_revoked(start_gateway, mock, backend):
    gw = start_gateway({**VIRTUAL_KEYS, "ledger": {"backend": backend}})
    r = admin(gw, "POST", "/admin/keys",
              json={"name": "e2e-bot", "team": "ads", "project": "feed", "providers": ["openai"]})
    assert r.status_code == 201, r.text
    minted = r.json()
    key = minted["key"]
    assert key.startswith("gk-")
    assert minted["name"] == "e2e-bot" and minted["team"] == "ads" and minted["providers"] == ["openai"]
    assert len(minted["key_sha256"]) == 64

    # The official SDK, with the minted key; the provider gets the gateway's own key.
    tid = new_test_id()
    client = gw.openai(api_key=key)
    got = client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, max_tokens=32,
                                         extra_headers={"x-test-id": tid})
    assert got.choices[0].message.content
    assert mock.one(tid).header("authorization") == f"Bearer {PROVIDER_KEY}"

    # Its spend, by key and model (the ledger settles after the response: poll).
    rows = wait_for(lambda: [r for r in spend_rows(gw, "key,model") if r["key"] == "e2e-bot"])
    assert len(rows) == 1
    row = rows[0]
    assert row["model"].startswith("gpt-4o-mini")
    assert (row["calls"], row["input_tokens"], row["output_tokens"]) == (1, 27, 42)
    assert row["cost_usd"] == pytest.approx(CHAT_COST / 1e9, rel=1e-9)
    team_rows = spend_rows(gw, "team")
    assert {"team": "ads", "calls": 1, "input_tokens": 27, "output_tokens": 42,
            "cost_usd": pytest.approx(CHAT_COST / 1e9)} in team_rows

    csv = admin(gw, "GET", "/admin/spend?group_by=key,model&format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == "key,model,calls,input_tokens,output_tokens,cost_usd"
    line = next(line for line in lines[1:] if line.startswith("e2e-bot,"))
    assert line.split(",")[2:5] == ["1", "27", "42"]
    assert float(line.split(",")[5]) == pytest.approx(CHAT_COST / 1e9, rel=1e-9)

    # Listed, never with the key.
    listed = admin(gw, "GET", "/admin/keys")
    assert listed.status_code == 200
    assert key not in listed.text and minted["key_sha256"] not in listed.text
    entry = next(k for k in listed.json()["keys"] if k["name"] == "e2e-bot")
    assert entry["revoked"] is False and entry["source"] == "admin" and entry["created_at"].endswith("Z")

    # Revoked: the SDK raises its usual authentication error.
    r = admin(gw, "DELETE", "/admin/keys/e2e-bot")
    assert r.status_code == 200, r.text
    with pytest.raises(openai.AuthenticationError) as err:
        client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert "revoked" in str(err.value)
    entry = next(k for k in admin(gw, "GET", "/admin/keys").json()["keys"] if k["name"] == "e2e-bot")
    assert entry["revoked"] is True
    assert admin(gw, "DELETE", "/admin/keys/nobody").status_code == 404


def test_mint_refuses_duplicates_and_bad_values(start_gateway):
    gw = start_gateway(VIRTUAL_KEYS)
    assert admin(gw, "POST", "/admin/keys", json={"name": "dup"}).status_code == 201
    r = admin(gw, "POST", "/admin/keys", json={"name": "dup"})
    assert r.status_code == 409
    assert r.json()["error"]["type"] == "conflict"
    for body, needle in [({"name": "has space"}, "name"), ({"name": "ok", "team": "a;b"}, "team"),
                         ({"name": "ok", "providers": ["nope"]}, "nope"), ({"name": "ok", "colour": 1}, "colour"),
                         ({"team": "x"}, "name")]:
        r = admin(gw, "POST", "/admin/keys", json=body)
        assert r.status_code == 400, (body, r.text)
        assert needle in r.json()["error"]["message"]
    r = admin(gw, "POST", "/admin/keys", content=b"{not json")
    assert r.status_code == 400


def test_admin_calls_need_the_token(start_gateway):
    gw = start_gateway()
    for method, path in [("GET", "/admin/keys"), ("POST", "/admin/keys"), ("GET", "/admin/budgets"),
                         ("GET", "/admin/spend"), ("POST", "/admin/reload"), ("DELETE", "/admin/keys/x")]:
        r = admin(gw, method, path, token=None)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["error"]["type"] == "unauthorized"
        assert admin(gw, method, path, token="wrong-token").status_code == 401
        assert admin(gw, method, path, token=TOKEN + "x").status_code == 401
    # Health, readiness and metrics need none.
    for path in ["/healthz", "/readyz", "/metrics"]:
        assert admin(gw, "GET", path, token=None).status_code == 200, path


def test_admin_api_is_off_without_a_token(start_gateway):
    gw = start_gateway({"admin": {"token": ""}})
    r = admin(gw, "GET", "/admin/keys")
    assert r.status_code == 403
    assert "admin.token" in r.json()["error"]["message"]


def test_budgets_report(start_gateway):
    gw = start_gateway({"budgets": [
        {"id": "ads-monthly", "scope": {"team": "ads"}, "limit_usd": 50, "period": "monthly"},
        {"id": "global-total", "scope": {}, "limit_usd": 1000, "period": "total"},
    ]})
    gw.openai().chat.completions.create(model="gpt-4o-mini", messages=MSGS,
                                        extra_headers={"x-genops-team": "ads"})

    def consumed():
        b = {x["id"]: x for x in admin(gw, "GET", "/admin/budgets").json()["budgets"]}
        return b if b["ads-monthly"]["consumed_usd"] > 0 else None

    budgets = wait_for(consumed)
    ads = budgets["ads-monthly"]
    assert ads["scope"] == {"team": "ads"} and ads["period"] == "monthly"
    assert ads["limit_usd"] == 50.0
    assert ads["consumed_usd"] == pytest.approx(CHAT_COST / 1e9)
    assert ads["remaining_usd"] == pytest.approx(50 - CHAT_COST / 1e9)
    assert ads["resets_at"].endswith("Z")
    assert budgets["global-total"]["scope"] == {} and budgets["global-total"]["resets_at"] is None


def test_spend_query_errors(start_gateway):
    gw = start_gateway()
    for query in ["group_by=colour", "from=yesterday", "format=xml",
                  "from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z"]:
        r = admin(gw, "GET", f"/admin/spend?{query}")
        assert r.status_code == 400, (query, r.text)
        assert r.json()["error"]["type"] == "invalid_request_error"
    r = admin(gw, "GET", "/admin/spend?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z&group_by=team")
    assert r.status_code == 200 and r.json() == {"rows": []}


def test_readyz_fails_when_a_provider_host_cannot_resolve(start_gateway):
    gw = start_gateway()
    r = admin(gw, "GET", "/readyz", token=None)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ready"

    bad = start_gateway({"providers": {"ghost": {"kind": "openai", "base_url": "http://no-such-host.invalid"}}},
                        name="ghost")
    r = admin(bad, "GET", "/readyz", token=None)
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["status"] == "not_ready"
    assert any(f.startswith("provider ghost") for f in body["failing"]), body
    assert admin(bad, "GET", "/healthz", token=None).status_code == 200


def test_minted_keys_survive_a_restart(start_gateway, tmp_path):
    overrides = {**VIRTUAL_KEYS, "ledger": {"backend": "embedded", "path": str(tmp_path / "shared-ledger")}}
    gw = start_gateway(overrides, name="first")
    key = admin(gw, "POST", "/admin/keys", json={"name": "durable", "team": "ads"}).json()["key"]
    gw.stop()
    again = start_gateway(overrides, name="second")
    names = [k["name"] for k in admin(again, "GET", "/admin/keys").json()["keys"]]
    assert "durable" in names
    got = again.openai(api_key=key).chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert got.choices[0].message.content
