"""Issue 5: the CLI against a running gateway (it talks to the admin API)."""

from __future__ import annotations

import json
import os
import subprocess

import openai
import pytest
import yaml

from admin_util import MSGS, TOKEN, VIRTUAL_KEYS, admin, spend_rows, wait_for
from conftest import free_port, gateway_bin


def cli(*args: str, gw=None, token: str | None = TOKEN, env_token: bool = False,
        check: bool = True) -> subprocess.CompletedProcess:
    cmd = [str(gateway_bin()), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENOPS_")}
    if gw is not None:
        env["GENOPS_ADMIN_URL"] = gw.admin
    if token is not None:
        if env_token:
            env["GENOPS_ADMIN_TOKEN"] = token
        else:
            cmd += ["--token", token]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert p.returncode == 0, f"{cmd} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def test_keys_create_list_revoke_and_spend(start_gateway):
    gw = start_gateway(VIRTUAL_KEYS)

    created = cli("keys", "create", "--name", "cli-bot", "--team", "search", "--provider", "openai",
                  "--format", "json", gw=gw)
    key = json.loads(created.stdout)["key"]
    human = cli("keys", "create", "--name", "cli-human", "--team", "ads", gw=gw, env_token=True)
    assert "created key cli-human" in human.stdout and "gk-" in human.stdout
    assert "not shown again" in human.stdout

    listed = cli("keys", "list", gw=gw).stdout
    lines = listed.splitlines()
    assert lines[0].split()[:3] == ["NAME", "SOURCE", "STATUS"]
    row = next(line for line in lines if line.startswith("cli-bot"))
    assert row.split()[1:5] == ["admin", "active", "team=search", "openai"]
    assert key not in listed

    client = gw.openai(api_key=key)
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, max_tokens=16)
    wait_for(lambda: any(r["team"] == "search" and r["calls"] == 2 for r in spend_rows(gw, "team")))

    table = cli("spend", "--group-by", "team", "--since", "7d", gw=gw).stdout
    search = next(line for line in table.splitlines() if line.startswith("search"))
    assert search.split()[1:4] == ["2", "54", "84"]
    assert search.split()[4].startswith("$")
    as_json = json.loads(cli("spend", "--group-by", "team,model", "--since", "7d", "--format", "json",
                             gw=gw).stdout)
    assert any(r["team"] == "search" and r["calls"] == 2 for r in as_json["rows"])
    as_csv = cli("spend", "--group-by", "team", "--since", "1h", "--format", "csv", gw=gw).stdout
    assert as_csv.splitlines()[0] == "team,calls,input_tokens,output_tokens,cost_usd"
    assert any(line.startswith("search,2,54,84,") for line in as_csv.splitlines())
    # A range before the calls is empty.
    old = cli("spend", "--group-by", "team", "--since", "2020-01-01", "--until", "2020-01-02",
              "--format", "json", gw=gw).stdout
    assert json.loads(old) == {"rows": []}

    revoked = cli("keys", "revoke", "cli-bot", gw=gw)
    assert "revoked" in revoked.stdout
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    row = next(line for line in cli("keys", "list", gw=gw).stdout.splitlines() if line.startswith("cli-bot"))
    assert row.split()[2] == "revoked"


def test_budgets_and_reload(start_gateway):
    gw = start_gateway({"budgets": [{"id": "team-search", "scope": {"team": "search"}, "limit_usd": 100,
                                     "period": "monthly"}]})
    out = cli("budgets", gw=gw).stdout
    assert out.splitlines()[0].split()[:3] == ["BUDGET", "SCOPE", "PERIOD"]
    assert "team-search" in out and "team=search" in out and "$100.00" in out
    assert json.loads(cli("budgets", "--format", "json", gw=gw).stdout)["budgets"][0]["id"] == "team-search"

    cfg = yaml.safe_load(gw.config_path.read_text())
    cfg["budgets"][0]["id"] = "team-search-v2"
    gw.config_path.write_text(yaml.safe_dump(cfg))
    assert "reloaded" in cli("reload", gw=gw).stdout
    assert "team-search-v2" in cli("budgets", gw=gw).stdout

    gw.config_path.write_text("listen: [unclosed\n")
    p = cli("reload", gw=gw, check=False)
    assert p.returncode == 1
    assert "refused" in p.stderr and "error:" in p.stderr


def test_useful_errors(start_gateway):
    gw = start_gateway()
    p = cli("keys", "list", gw=gw, token="wrong", check=False)
    assert p.returncode == 1 and "wrong admin token" in p.stderr and "401" in p.stderr
    p = cli("keys", "list", gw=gw, token=None, check=False)
    assert p.returncode == 1 and "GENOPS_ADMIN_TOKEN" in p.stderr
    p = cli("keys", "list", "--admin-url", f"http://127.0.0.1:{free_port()}", check=False)
    assert p.returncode == 1 and "cannot reach" in p.stderr
    p = cli("keys", "revoke", "nobody", gw=gw, check=False)
    assert p.returncode == 1 and "no key named nobody" in p.stderr
    p = cli("spend", "--since", "yesterday", gw=gw, check=False)
    assert p.returncode == 1 and "--since" in p.stderr
    p = cli("spend", "--group-by", "colour", gw=gw, check=False)
    assert p.returncode == 1 and "colour" in p.stderr
    assert admin(gw, "GET", "/healthz", token=None).status_code == 200


def test_help_and_check(tmp_path):
    for args in [["--help"], ["keys", "--help"], ["keys", "create", "--help"], ["spend", "--help"],
                 ["budgets", "--help"], ["reload", "--help"], ["serve", "--help"], ["check", "--help"]]:
        p = cli(*args, token=None)
        assert "Usage:" in p.stdout, args
    good = tmp_path / "good.yaml"
    good.write_text("providers:\n  openai: {kind: openai, base_url: 'http://127.0.0.1:9'}\n"
                    "ledger: {backend: memory}\ntelemetry: {exporter: none}\n")
    assert "OK" in cli("check", "--config", str(good), token=None).stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("providers:\n  openai: {kind: nope, base_url: 'x'}\ncolour: red\n")
    p = cli("check", "--config", str(bad), token=None, check=False)
    assert p.returncode == 1 and "error:" in p.stdout
