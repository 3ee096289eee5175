"""The sandbox itself: its clock, faults on demand, control endpoints, life cycle, console entry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from invoicedesk.sandbox import Sandbox
from invoicedesk.sandbox.clock import DEFAULT_START
from invoicedesk.sandbox.control import _loopback


@pytest.fixture
def js(sandbox: Sandbox) -> Iterator[httpx.Client]:
    store = sandbox.stores[0]
    with httpx.Client(base_url=sandbox.jumpseller_url, auth=(store.login, store.token),
                      timeout=10) as client:
        yield client


def _statuses(sb: Sandbox, login: str) -> dict[int, str]:
    return {o["order"]["id"]: o["order"]["status_enum"] for o in sb.truth_orders(login)}


# ---- the clock -----------------------------------------------------------------------------


def test_advance_changes_orders_and_invoices_deterministically() -> None:
    a = Sandbox(seed=21, orders=150, invoices=150)
    b = Sandbox(seed=21, orders=150, invoices=150)
    login = a.stores[0].login
    before = _statuses(a, login)
    invoices_before = {r["id"]: r["attributes"] for r in a.truth_invoices("bikeshop")}
    result = a.advance(hours=24)
    assert result == b.advance(hours=24)
    assert a.truth_orders(login) == b.truth_orders(login)
    assert a.truth_invoices("bikeshop") == b.truth_invoices("bikeshop")
    assert a.now() == b.now() == DEFAULT_START + timedelta(hours=24)

    changes = result["stores"][login]
    after = _statuses(a, login)
    assert changes["new"] and min(changes["new"]) > max(before)
    assert all(after[i] == "paid" and before[i] == "pending_payment" for i in changes["paid"])
    assert changes["canceled_invoiced"], "an invoiced order was canceled: a credit note is owed"
    assert all(after[i] == "canceled" for i in changes["canceled_invoiced"])
    docs = a.truth_documents(login)
    assert all(any(d["document_type"] == 1 for d in docs[i]) for i in changes["canceled_invoiced"])

    moved = result["sellers"]["bikeshop"]["moved"]
    invoices_after = {r["id"]: r["attributes"] for r in a.truth_invoices("bikeshop")}
    assert moved
    for iid in moved:
        old, new = invoices_before[str(iid)], invoices_after[str(iid)]
        assert old["status"] != new["status"] and old["updated_at"] != new["updated_at"]
    assert set(result["sellers"]["bikeshop"]["new"]) <= {int(i) for i in invoices_after}
    # A different seed changes different things.
    c = Sandbox(seed=22, orders=150, invoices=150)
    assert c.advance(hours=24)["stores"][login] != changes


def test_new_orders_and_updated_invoices_are_visible_over_http(sandbox: Sandbox,
                                                              js: httpx.Client) -> None:
    newest = js.get("/orders.json", params={"limit": 1}).json()[0]["order"]["id"]
    marker = sandbox.now().isoformat()
    r = httpx.post(sandbox.control_url + "/advance", json={"hours": 12}, timeout=10)
    assert r.status_code == 200
    result = r.json()
    state = httpx.get(sandbox.control_url + "/state", timeout=10).json()
    assert datetime.fromisoformat(state["now"]) == datetime.fromisoformat(marker) + timedelta(hours=12)
    arrived = [o["order"]["id"] for o in js.get(f"/orders/after/{newest}.json").json()]
    assert arrived == result["stores"][sandbox.stores[0].login]["new"]
    seller = sandbox.sellers[0]
    changed = httpx.get(sandbox.marketplacer_url + "/api/v2/client/invoices", timeout=10,
                        params={"updated_since": marker, "page[size]": 100},
                        headers={"Authorization": f"Bearer {seller.api_key}"}).json()
    ids = {int(d["id"]) for d in changed["data"]}
    touched = result["sellers"][seller.name]
    assert set(touched["moved"]) | set(touched["paid"]) | set(touched["new"]) <= ids
    assert ids


# ---- faults ----------------------------------------------------------------------------------


def _doc(n: int) -> dict:
    return {"document": {"document_type": 1, "public_id": f"F-{n}", "url": f"https://x/{n}"}}


def _order_id(sb: Sandbox) -> int:
    return sb.truth_orders(sb.stores[0].login)[-1]["order"]["id"]


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("503", 503), ("429", 429)])
def test_status_faults_answer_at_once_without_doing_the_write(sandbox: Sandbox, js: httpx.Client,
                                                             kind: str, status: int) -> None:
    oid = _order_id(sandbox)
    sandbox.inject("jumpseller", kind, count=1)
    r = js.post(f"/orders/{oid}/documents.json", json=_doc(1))
    assert r.status_code == status
    if status != 500:
        assert r.headers["Retry-After"] == "1"
    attached = sandbox.truth_documents(sandbox.stores[0].login).get(oid, [])
    assert all(d["public_id"] != "F-1" for d in attached)
    assert js.get("/orders/count.json").status_code == 200  # count=1 was used up


def test_html_fault_is_a_502_page(sandbox: Sandbox) -> None:
    sandbox.inject("marketplacer", "html")
    seller = sandbox.sellers[0]
    r = httpx.get(sandbox.marketplacer_url + "/api/v2/client/invoices", timeout=10,
                  headers={"Authorization": f"Bearer {seller.api_key}"})
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_truncated_json_does_not_parse(sandbox: Sandbox, js: httpx.Client) -> None:
    sandbox.inject("jumpseller", "truncate", count=1)
    r = js.get("/orders.json")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    assert isinstance(js.get("/orders.json").json(), list)


def test_drop_closes_the_connection_after_the_write(sandbox: Sandbox, js: httpx.Client) -> None:
    oid = _order_id(sandbox)
    sandbox.inject("jumpseller", "drop", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        js.post(f"/orders/{oid}/documents.json", json=_doc(2))
    docs = sandbox.truth_documents(sandbox.stores[0].login)[oid]
    assert [d["public_id"] for d in docs][-1] == "F-2"


def test_slow_answers_exceed_a_short_timeout_but_the_write_happened(sandbox: Sandbox) -> None:
    store = sandbox.stores[0]
    sandbox.inject("invoicing", "slow", count=1, delay=5.0)
    raw = json.dumps({"order": {"id": 9, "status": "paid", "total": 1.0, "customer": {},
                                "products": [{"name": "A", "price": 1.0, "quantity": 1}]}}).encode()
    assert store.hooks_token
    sig = base64.b64encode(hmac.new(store.hooks_token.encode(), raw, hashlib.sha256).digest()).decode()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(sandbox.invoicing_url, content=raw, timeout=httpx.Timeout(10, read=0.3), headers={
            "Content-Type": "application/json", "Jumpseller-Store-Code": store.login,
            "Jumpseller-Hmac-Sha256": sig})
    assert [r["order_id"] for r in sandbox.invoices_created()] == [9]


def test_latency_delays_then_serves(sandbox: Sandbox, js: httpx.Client) -> None:
    sandbox.inject("jumpseller", "latency", count=1, delay=3.0)
    with pytest.raises(httpx.ReadTimeout):
        js.get("/orders/count.json", timeout=httpx.Timeout(10, read=0.2))
    sandbox.inject("jumpseller", "latency", count=1, delay=0.05)
    assert js.get("/orders/count.json").status_code == 200


def test_fault_rate_is_seeded_and_counts_are_kept(js: httpx.Client, sandbox: Sandbox) -> None:
    def pattern(sb: Sandbox) -> list[int]:
        store = sb.stores[0]
        sb.inject("jumpseller", "503", rate=0.5)
        with httpx.Client(auth=(store.login, store.token), timeout=10) as c:
            codes = [c.get(sb.jumpseller_url + "/orders/count.json").status_code for _ in range(12)]
        sb.clear_faults("jumpseller")
        return codes

    with Sandbox(seed=4, orders=10, invoices=5) as a, Sandbox(seed=4, orders=10, invoices=5) as b:
        first, second = pattern(a), pattern(b)
        assert first == second and {200, 503} == set(first)
        assert a.requests("jumpseller") == 12 and a.requests("marketplacer") == 0
    start = sandbox.requests("jumpseller")
    js.get("/orders/count.json")
    js.get("/orders/999999.json")
    assert sandbox.requests("jumpseller") == start + 2


def test_control_endpoints_inject_clear_and_describe(sandbox: Sandbox, js: httpx.Client) -> None:
    url = sandbox.control_url
    r = httpx.post(url + "/inject", json={"service": "jumpseller", "kind": "500", "count": 2},
                   timeout=10)
    assert r.status_code == 200 and r.json()["faults"]["jumpseller"][0]["kind"] == "500"
    assert js.get("/orders/count.json").status_code == 500
    assert httpx.post(url + "/clear", json={}, timeout=10).status_code == 200
    assert js.get("/orders/count.json").status_code == 200
    bad = httpx.post(url + "/inject", json={"service": "jumpseller", "kind": "fire"}, timeout=10)
    assert bad.status_code == 400 and "fire" in bad.json()["message"]
    state = httpx.get(url + "/state", timeout=10).json()
    assert state["requests"]["jumpseller"] == sandbox.requests("jumpseller")
    text = json.dumps(state)
    for store in sandbox.stores:
        assert store.token not in text and (store.hooks_token or "-") not in text


def test_control_answers_loopback_clients_only() -> None:
    def request(host: str) -> Request:
        return Request({"type": "http", "method": "GET", "path": "/_control/state", "headers": [],
                        "client": (host, 50000), "query_string": b""})

    assert _loopback(request("127.0.0.1")) and _loopback(request("::1"))
    assert not _loopback(request("192.168.1.20")) and not _loopback(request("testclient"))


# ---- life cycle ------------------------------------------------------------------------------


def test_many_sandboxes_start_and_stop_cleanly() -> None:
    ports = set()
    for _ in range(3):
        with Sandbox(seed=1, orders=5, invoices=5) as sb:
            ports.add(sb.port)
            assert httpx.get(sb.base_url + "/", timeout=10).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(sb.base_url + "/", timeout=2)
    sb = Sandbox(seed=1, orders=5, invoices=5)
    with pytest.raises(RuntimeError):
        _ = sb.base_url
    sb.stop()  # stopping a sandbox that never started is harmless
    assert "token" not in repr(sb.stores[0]) and sb.stores[0].token not in repr(sb.stores[0])
    assert sb.sellers[0].api_key not in repr(sb.sellers[0])


def test_stop_wakes_a_slow_fault_and_it_still_answers(caplog: pytest.LogCaptureFixture) -> None:
    """Stopping must not leave a slow answer hanging until the server gives up on it."""
    sb = Sandbox(seed=1, orders=5, invoices=5).start()
    store = sb.stores[0]
    sb.inject("jumpseller", "slow", delay=120)
    outcome: queue.Queue[object] = queue.Queue()

    def call() -> None:
        try:
            r = httpx.get(sb.jumpseller_url + "/orders/count.json", auth=(store.login, store.token),
                          timeout=60)
            outcome.put(r.status_code)
        except httpx.HTTPError as exc:
            outcome.put(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    deadline = time.monotonic() + 10
    while sb.requests("jumpseller") == 0 and time.monotonic() < deadline:
        worker.join(0.01)
    with caplog.at_level("WARNING"):
        sb.stop()
    worker.join(10)
    assert outcome.get(timeout=1) == 200, "the slow answer was delivered, not cancelled"
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")]


def test_the_console_entry_serves_until_terminated(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("invoicedesk-sandbox")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "invoicedesk.sandbox"]
    proc = subprocess.Popen([*command, "--port", "0", "--orders", "130", "--seed", "9"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or []], daemon=True).start()
    try:
        seen: list[str] = []
        while not any(line.startswith("Press Ctrl+C") for line in seen):
            seen.append(lines.get(timeout=30))
        text = "".join(seen)
        url = next(w for line in seen for w in line.split() if w.endswith("/jumpseller/v1"))
        assert "/invoicing/invoices" in text and "/marketplacer" in text
        login_line = next(line for line in seen if line.strip().startswith("demo-store"))
        token = login_line.split("token=")[1].split()[0]
        ids: list[int] = []
        page = 1
        with httpx.Client(auth=("demo-store", token), timeout=10) as c:
            while True:
                batch = c.get(url + "/orders.json", params={"page": page, "limit": 50}).json()
                ids += [o["order"]["id"] for o in batch]
                if len(batch) < 50:
                    break
                page += 1
        assert len(ids) == 130 and page == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_generating_100k_orders_per_store() -> None:
    started = time.perf_counter()
    sb = Sandbox(seed=7, orders=100_000, invoices=10)
    elapsed = time.perf_counter() - started
    print(f"\ngenerated 2 x 100,000 orders in {elapsed:.2f} s")
    store = sb._state.stores["demo-store"]
    assert len(store.orders) == 100_000
    assert len({o.id for o in store.orders}) == 100_000
