"""The embedded ledger (SQLite in `<ledger.path>/ledger.sqlite3`) survives a restart and a
kill -9: every call the client saw complete has its settled spend record, calls caught mid-flight
are settled from their reservations (`recovered`), and budgets count exactly what was recorded.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import openai
import pytest

from conftest import deep_merge, kill9, relaunch
from helpers import VK_SEARCH, gov_cost_nano, gov_overrides, ledger_overrides, new_test_id, sqlite_query

MESSAGES = [{"role": "user", "content": "Say hello."}]
USAGE_100 = json.dumps({"prompt": 20, "completion": 100})
COST_100 = gov_cost_nano(20, 100)  # 100_020_000 nano-USD


def budget(id_: str, limit: float, **kw) -> dict:
    out = {"id": id_, "scope": {"team": "search"}, "limit_usd": limit, "period": "daily",
           "enforcement": "block"}
    out.update(kw)
    return out


def start_embedded(start_gateway, scripted_mock, tmp_path, name: str, **gov):
    data = tmp_path / f"{name}-ledger"
    over = deep_merge(gov_overrides(scripted_mock.url, tmp_path / f"{name}-gov", **gov),
                      ledger_overrides("embedded", path=data))
    return start_gateway(over, name=name), data / "ledger.sqlite3"


def admin_budget(gw, budget_id: str) -> dict:
    r = httpx.get(gw.admin + "/admin/budgets", headers={"authorization": "Bearer test-admin-token"})
    assert r.status_code == 200, r.text
    found = [b for b in r.json()["budgets"] if b["id"] == budget_id]
    assert len(found) == 1, r.json()
    return found[0]


def call_100(client, tid: str, stream: bool = False):
    return client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=100, stream=stream,
        extra_headers={"x-test-id": tid, "x-mock-usage": USAGE_100, "x-mock-event-delay-ms": "5"})


def test_kill_9_mid_load_loses_no_spend(start_gateway, scripted_mock, tmp_path):
    gw, db = start_embedded(start_gateway, scripted_mock, tmp_path, "kill9-1",
                            budgets=[budget("durable", 1000.0)])
    assert db.exists(), f"no SQLite file at {db}"
    stop = threading.Event()
    lock = threading.Lock()
    # One entry per attempted call: tid -> (state, request id or None); state is
    # "completed" (whole response read), "started" (headers seen, body broken) or "failed".
    calls: dict[str, tuple[str, str | None]] = {}
    completed = [0]
    streamed: dict[str, bool] = {}  # request id -> was a stream

    def worker(w: int) -> None:
        client = gw.openai(api_key=VK_SEARCH, timeout=10.0)
        n = 0
        while not stop.is_set():
            with lock:
                if len(calls) >= 200:
                    return
                tid = new_test_id()
                calls[tid] = ("failed", None)
            stream = (w + n) % 2 == 0
            n += 1
            rid = None
            try:
                raw = call_100(client, tid, stream)
                rid = raw.headers.get("x-genops-request-id")
                streamed[rid] = stream
                if stream:
                    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
                else:
                    text = raw.parse().choices[0].message.content
                assert text, "a completed call carries text"
                with lock:
                    calls[tid] = ("completed", rid)
                    completed[0] += 1
            except (openai.APIError, httpx.HTTPError):
                with lock:
                    calls[tid] = ("started" if rid else "failed", rid)

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while completed[0] < 80 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert completed[0] >= 80, f"only {completed[0]} calls completed before the kill"
    kill9(gw)
    stop.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)

    gw2 = relaunch(gw, "kill9-2")
    try:
        done = {tid: rid for tid, (state, rid) in calls.items() if state == "completed"}
        started = {tid: rid for tid, (state, rid) in calls.items() if state == "started"}
        served = [tid for tid in calls if scripted_mock.find(tid)]
        rows = sqlite_query(db, "SELECT request_id, cost, input_tokens, output_tokens, policy_result, "
                                "recovered FROM spend")
        by_id: dict[str, list[dict]] = {}
        for r in rows:
            by_id.setdefault(r["request_id"], []).append(r)
        dups = {k: v for k, v in by_id.items() if len(v) > 1}
        assert not dups, f"request ids with more than one spend record: {dups}"

        missing = [rid for rid in done.values() if rid not in by_id]
        recovered_done = [rid for rid in done.values() if rid in by_id and by_id[rid][0]["recovered"]]
        wrong = [by_id[rid][0] for rid in done.values()
                 if rid in by_id and not by_id[rid][0]["recovered"]
                 and (by_id[rid][0]["cost"], by_id[rid][0]["output_tokens"]) != (COST_100, 100)]
        assert not missing, (f"{len(missing)} of {len(done)} calls completed at the client have no spend "
                             f"record after kill -9: {missing[:5]}")
        # The client read the whole response, so the gateway had settled it (it settles before
        # the response's last byte leaves; settling after leaves a window where kill -9 turns a
        # finished call into a `recovered` one at its reserved, not actual, cost).
        assert not recovered_done, (
            f"{len(recovered_done)} of {len(done)} calls completed at the client were only recovered "
            f"from their reservation, not settled: "
            f"{[(rid, 'stream' if streamed.get(rid) else 'non-stream') for rid in recovered_done[:5]]}")
        assert not wrong, f"settled records with the wrong cost/tokens: {wrong[:5]}"

        # Calls cut mid-stream by the kill: settled before it, or recovered at the restart.
        lost = [rid for rid in started.values() if rid not in by_id]
        assert not lost, f"streams in flight at the kill with no spend record: {lost}"
        # Every call the gateway forwarded is accounted for (it reserved before forwarding), and
        # nothing else: at most one record per attempted call.
        assert len(served) <= len(rows) <= len(calls), (
            f"{len(rows)} spend records; the mock served {len(served)} of {len(calls)} attempted calls")
        recovered = [r for r in rows if r["recovered"]]
        assert all(r["policy_result"] == "recovered" and r["cost"] > 0 for r in recovered), recovered
        assert sqlite_query(db, "SELECT * FROM reservations") == [], "reservations left after recovery"

        # The budget counts exactly the recorded spend, in the file and as the restarted gateway sees it.
        total = sum(r["cost"] for r in rows)
        counters = sqlite_query(db, "SELECT consumed FROM budget_counters WHERE budget_id = 'durable'")
        assert len(counters) == 1, counters
        assert counters[0]["consumed"] == total, (counters, total, len(rows), len(recovered))
        # And the restarted gateway serves and records.
        raw = call_100(gw2.openai(api_key=VK_SEARCH), new_test_id())
        rid = raw.headers.get("x-genops-request-id")
        assert raw.http_response.status_code == 200
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not sqlite_query(db, "SELECT 1 FROM spend WHERE request_id = ?", (rid,)):
            time.sleep(0.05)
        assert sqlite_query(db, "SELECT cost FROM spend WHERE request_id = ?", (rid,)) == [{"cost": COST_100}]
        print(f"kill -9 run: {len(calls)} attempted, {len(done)} completed, {len(started)} streams cut, "
              f"{len(served)} served by the mock, {len(rows)} spend records ({len(recovered)} recovered)")
    finally:
        gw2.stop()


@pytest.mark.parametrize("how", ["sigint", "sigkill"])
def test_restart_keeps_the_budget_spent(start_gateway, scripted_mock, tmp_path, how):
    gw, db = start_embedded(start_gateway, scripted_mock, tmp_path, f"restart-{how}-1",
                            budgets=[budget("keep", 0.25)])
    client = gw.openai(api_key=VK_SEARCH)
    for _ in range(2):
        assert call_100(client, new_test_id()).http_response.status_code == 200
    with pytest.raises(openai.APIStatusError) as ei:
        call_100(client, new_test_id())
    assert ei.value.status_code == 402
    # Both calls settled (just after their responses went out) before the process goes.
    deadline = time.monotonic() + 5
    while len(sqlite_query(db, "SELECT 1 FROM spend WHERE cost > 0")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    if how == "sigint":
        gw.stop()
    else:
        kill9(gw)
    gw2 = relaunch(gw, f"restart-{how}-2")
    try:
        tid = new_test_id()
        with pytest.raises(openai.APIStatusError) as ei:
            call_100(gw2.openai(api_key=VK_SEARCH), tid)
        assert ei.value.status_code == 402, "the spent budget came back after a restart"
        assert "$0.20 of $0.25" in ei.value.body["message"], ei.value.body
        assert scripted_mock.find(tid) == []
        rows = sqlite_query(db, "SELECT cost, recovered FROM spend WHERE cost > 0")
        assert rows == [{"cost": COST_100, "recovered": 0}] * 2, rows
    finally:
        gw2.stop()


def test_admin_budgets_reports_the_recovered_spend_after_kill_9(start_gateway, scripted_mock, tmp_path):
    # GET /admin/budgets on the restarted gateway shows what the file holds, recovered calls included.
    gw, db = start_embedded(start_gateway, scripted_mock, tmp_path, "admin-kill-1",
                            budgets=[budget("adm-keep", 10.0)])
    client = gw.openai(api_key=VK_SEARCH)
    assert call_100(client, new_test_id()).http_response.status_code == 200
    # One stream held open (slow events) at the kill: its reservation is recovered at restart.
    raw = client.chat.completions.with_raw_response.create(
        model="gov-model", messages=MESSAGES, max_tokens=100, stream=True,
        extra_headers={"x-test-id": new_test_id(), "x-mock-usage": USAGE_100, "x-mock-event-delay-ms": "2000"})
    assert raw.http_response.status_code == 200
    rid = raw.headers.get("x-genops-request-id")
    kill9(gw)
    gw2 = relaunch(gw, "admin-kill-2")
    try:
        rows = sqlite_query(db, "SELECT request_id, cost, recovered FROM spend")
        recovered = [r for r in rows if r["recovered"]]
        assert [r["request_id"] for r in recovered] == [rid], rows
        total = sum(r["cost"] for r in rows)
        assert total > COST_100, rows
        b = admin_budget(gw2, "adm-keep")
        assert abs(b["consumed_usd"] - total / 1e9) < 1e-9, (b, total)
        assert abs(b["reserved_usd"]) < 1e-12, b
    finally:
        gw2.stop()


def test_memory_backend_forgets_on_restart(start_gateway, scripted_mock, tmp_path):
    # The contrast that shows the tests above test the store: `memory` starts from zero.
    over = deep_merge(gov_overrides(scripted_mock.url, tmp_path / "mem-gov", budgets=[budget("mem", 0.25)]),
                      ledger_overrides("memory"))
    gw = start_gateway(over, name="mem-1")
    client = gw.openai(api_key=VK_SEARCH)
    for _ in range(2):
        call_100(client, new_test_id())
    gw.stop()
    gw2 = relaunch(gw, "mem-2")
    try:
        assert call_100(gw2.openai(api_key=VK_SEARCH), new_test_id()).http_response.status_code == 200
    finally:
        gw2.stop()
