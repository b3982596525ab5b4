"""Issue 5: live reload — POST /admin/reload and SIGHUP swap the config without dropping a call;
a file that does not validate is refused and the running config stays."""

from __future__ import annotations

import signal
import threading

import openai
import pytest
import yaml

import mock_upstream as m
from admin_util import MSGS, TOKEN, admin, wait_for


def rewrite(gw, change) -> None:
    cfg = yaml.safe_load(gw.config_path.read_text())
    change(cfg)
    gw.config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))


TINY_BUDGET = {"id": "tiny", "scope": {}, "limit_usd": 0.000001, "period": "total", "enforcement": "block"}


def test_broken_file_is_refused_with_every_error_and_the_gateway_keeps_serving(start_gateway):
    gw = start_gateway()
    client = gw.openai()
    assert client.chat.completions.create(model="gpt-4o-mini", messages=MSGS).choices

    def break_it(cfg):
        cfg["providers"]["openai"]["kind"] = "carrier-pigeon"
        cfg["budgets"] = [{"id": "b", "scope": {"colour": "red"}, "limit_usd": 1, "period": "monthly"}]

    original = gw.config_path.read_text()
    rewrite(gw, break_it)
    r = admin(gw, "POST", "/admin/reload")
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_config"
    assert err["errors"] and all(isinstance(e, str) for e in err["errors"])
    assert "carrier-pigeon" in " ".join(err["errors"]) or "colour" in " ".join(err["errors"])

    # Still serving with the old config.
    assert client.chat.completions.create(model="gpt-4o-mini", messages=MSGS).choices
    assert gw.proc.poll() is None

    # Unparseable YAML too.
    gw.config_path.write_text("listen: [unclosed\n")
    r = admin(gw, "POST", "/admin/reload")
    assert r.status_code == 400 and r.json()["error"]["errors"]
    assert client.chat.completions.create(model="gpt-4o-mini", messages=MSGS).choices

    gw.config_path.write_text(original)
    assert admin(gw, "POST", "/admin/reload").json() == {"reloaded": True, "warnings": []}


def test_a_new_budget_is_enforced_after_reload(start_gateway):
    gw = start_gateway()
    client = gw.openai()
    assert client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, max_tokens=16).choices

    rewrite(gw, lambda cfg: cfg.update(budgets=[TINY_BUDGET]))
    r = admin(gw, "POST", "/admin/reload")
    assert r.status_code == 200, r.text
    assert r.json()["reloaded"] is True

    with pytest.raises(openai.APIStatusError) as err:
        client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, max_tokens=16)
    assert err.value.status_code == 402
    assert "tiny" in str(err.value)
    assert [b["id"] for b in admin(gw, "GET", "/admin/budgets").json()["budgets"]] == ["tiny"]


def test_restart_only_changes_are_warned_about(start_gateway, tmp_path):
    gw = start_gateway()
    rewrite(gw, lambda cfg: cfg["ledger"].update(path=str(tmp_path / "elsewhere")))
    r = admin(gw, "POST", "/admin/reload")
    assert r.status_code == 200, r.text
    assert any(w.startswith("ledger.path changed") for w in r.json()["warnings"]), r.json()


def test_a_stream_in_flight_across_a_reload_completes_intact(start_gateway):
    gw = start_gateway()
    client = gw.openai()
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MSGS, stream=True,
        extra_headers={"x-mock-event-delay-ms": "120"},
    )
    text = []
    reloaded = None
    for i, chunk in enumerate(stream):
        if chunk.choices and chunk.choices[0].delta.content:
            text.append(chunk.choices[0].delta.content)
        if i == 3:
            # Mid-stream: a reload that would refuse any new call.
            rewrite(gw, lambda cfg: cfg.update(budgets=[TINY_BUDGET]))
            reloaded = admin(gw, "POST", "/admin/reload")
    assert reloaded is not None and reloaded.status_code == 200, reloaded and reloaded.text
    assert "".join(text) == m.COMPLETION_TEXT
    # The new generation is the one new calls see.
    with pytest.raises(openai.APIStatusError) as err:
        client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert err.value.status_code == 402


def test_concurrent_calls_during_reloads_all_succeed(start_gateway):
    gw = start_gateway()
    client = gw.openai()
    failures: list[BaseException] = []

    def caller():
        for _ in range(8):
            try:
                client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, max_tokens=8)
            except BaseException as e:  # noqa: BLE001 - collected and asserted below
                failures.append(e)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(10):
        assert admin(gw, "POST", "/admin/reload").status_code == 200
    for t in threads:
        t.join(60)
    assert failures == []


def test_sighup_reloads(start_gateway):
    gw = start_gateway()
    assert admin(gw, "GET", "/admin/budgets").json()["budgets"] == []
    rewrite(gw, lambda cfg: cfg.update(budgets=[{**TINY_BUDGET, "id": "via-sighup"}]))
    gw.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: admin(gw, "GET", "/admin/budgets").json()["budgets"])
    assert admin(gw, "GET", "/admin/budgets").json()["budgets"][0]["id"] == "via-sighup"
    assert gw.proc.poll() is None

    # A broken file on SIGHUP: refused, logged, still running.
    gw.config_path.write_text("listen: [unclosed\n")
    gw.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "SIGHUP: the configuration was refused" in gw.log())
    assert gw.proc.poll() is None
    assert admin(gw, "GET", "/healthz", token=None).status_code == 200


def test_reload_rotates_the_admin_token(start_gateway):
    gw = start_gateway()
    rewrite(gw, lambda cfg: cfg["admin"].update(token="rotated-token"))
    assert admin(gw, "POST", "/admin/reload").status_code == 200
    assert admin(gw, "GET", "/admin/keys").status_code == 401
    assert admin(gw, "GET", "/admin/keys", token="rotated-token").status_code == 200
    assert TOKEN != "rotated-token"
