"""The sandbox's Marketplacer REST API v2 behaves like the docs, over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from invoicedesk.sandbox import Sandbox
from tests.fixtures import FIXTURES

JSONAPI = {"Content-Type": "application/vnd.api+json"}
REFERENCE = FIXTURES / "marketplacer"


@pytest.fixture
def mp(sandbox: Sandbox) -> Iterator[httpx.Client]:
    seller = sandbox.sellers[0]
    with httpx.Client(base_url=sandbox.marketplacer_url + "/api/v2/client",
                      headers={"Authorization": f"Bearer {seller.api_key}"}, timeout=10) as c:
        yield c


def _resources(sb: Sandbox, delivery: str, status: str) -> list[dict]:
    return [r for r in sb.truth_invoices(sb.sellers[0].name)
            if r["attributes"]["delivery_type"] == delivery and r["attributes"]["status"] == status]


def _follow(client: httpx.Client, url: str, params: dict | None = None) -> tuple[list[dict], list[dict]]:
    data, bodies = [], []
    r = client.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        bodies.append(body)
        data += body["data"]
        nxt = body["links"].get("next")
        if not nxt:
            return data, bodies
        r = client.get(nxt)


def test_bearer_and_basic_plus_key_authenticate(sandbox: Sandbox) -> None:
    s = sandbox.sellers[0]
    url = sandbox.marketplacer_url + "/api/v2/client/invoices"
    with httpx.Client(timeout=10) as c:
        assert c.get(url, headers={"Authorization": f"Bearer {s.api_key}"}).status_code == 200
        ok = c.get(url, auth=(s.basic_user, s.basic_password),
                   headers={"MARKETPLACER-API-KEY": s.api_key})
        assert ok.status_code == 200
        refused = [
            c.get(url, headers={"Authorization": "Bearer nope"}),
            c.get(url, auth=(s.basic_user, s.basic_password)),  # the key header is missing
            c.get(url, auth=(s.basic_user, "wrong"), headers={"MARKETPLACER-API-KEY": s.api_key}),
            c.get(url),
        ]
        for r in refused:
            assert r.status_code == 401
            err = r.json()["errors"][0]
            assert err["title"] == "Unauthorized" and err["status"] == "unauthorized"


def test_links_next_walks_every_paid_invoice_in_paid_at_order(mp: httpx.Client,
                                                             sandbox: Sandbox) -> None:
    data, bodies = _follow(mp, "/invoices", {"page[size]": 25})
    truth = sandbox.truth_invoices(sandbox.sellers[0].name)
    assert [d["id"] for d in data] == [t["id"] for t in truth]
    assert all(isinstance(d["id"], str) for d in data)
    assert all(b["meta"]["total"] == len(truth) for b in bodies)
    assert len(bodies) == -(-len(truth) // 25)
    assert "next" not in bodies[-1]["links"] and "next" in bodies[0]["links"]
    assert all(b["links"]["first"].startswith(sandbox.base_url) for b in bodies)
    assert all(d["attributes"]["paid_at"] for d in data), "only paid invoices are listed"
    paid = [datetime.fromisoformat(d["attributes"]["paid_at"]) for d in data]
    assert paid == sorted(paid)


def test_page_size_is_clamped_and_defaults_to_50(mp: httpx.Client) -> None:
    assert len(mp.get("/invoices", params={"page[size]": 500}).json()["data"]) == 100
    assert len(mp.get("/invoices").json()["data"]) == 50


def test_filters_combine_and_survive_links(mp: httpx.Client, sandbox: Sandbox) -> None:
    truth = sandbox.truth_invoices(sandbox.sellers[0].name)
    middle = truth[len(truth) // 2]["attributes"]["paid_at"]
    since, _ = _follow(mp, "/invoices", {"since": middle, "page[size]": 10})
    expected = [t["id"] for t in truth
                if datetime.fromisoformat(t["attributes"]["paid_at"]) >= datetime.fromisoformat(middle)]
    assert [d["id"] for d in since] == expected
    sent, _ = _follow(mp, "/invoices", {"status": "sent", "until": middle, "page[size]": 10})
    assert sent and all(d["attributes"]["status"] == "sent" for d in sent)
    assert all(datetime.fromisoformat(d["attributes"]["paid_at"]) < datetime.fromisoformat(middle)
               for d in sent)
    # An offset whose "+" was not URL-encoded reads as a space: refused, as by the real service.
    raw = mp.get("/invoices?since=2026-11-01T00:00:00+11:00")
    assert raw.status_code == 400 and raw.json()["errors"][0]["title"]
    assert mp.get("/invoices", params={"status": "shipped"}).status_code == 400


def test_include_adds_line_items_and_customers(mp: httpx.Client) -> None:
    body = mp.get("/invoices", params={"include": "line_items,customer", "page[size]": 5}).json()
    included = {(str(i["id"]), i["type"]): i for i in body["included"]}
    for inv in body["data"]:
        rel = inv["relationships"]
        for ref in rel["line_items"]["data"]:
            assert isinstance(ref["id"], str)
            item = included[(ref["id"], "line_items")]
            assert isinstance(item["id"], int), "ids are numbers in included entries"
            assert item["attributes"]["tax_total"] == "0.0"
        for role in ("customer", "billing_customer"):
            ref = rel[role]["data"]
            assert included[(ref["id"], "customers")]["attributes"]["email_address"]
    assert "included" not in mp.get("/invoices", params={"page[size]": 5}).json()


def test_show_includes_items_shipments_and_customers(mp: httpx.Client, sandbox: Sandbox) -> None:
    sent = _resources(sandbox, "buy_online", "sent")[0]
    doc = mp.get(f"/invoices/{sent['id']}").json()
    assert doc["data"]["id"] == int(sent["id"])
    assert doc["links"]["self"].startswith(sandbox.base_url)
    types = {i["type"] for i in doc["included"]}
    assert types == {"line_items", "customers", "shipments"}
    ids = {i["id"] for i in doc["included"] if i["type"] == "customers"}
    assert ids == {"customer", "billing_customer"}
    r = mp.get("/invoices/1")
    assert r.status_code == 404 and r.json()["errors"][0]["status"] == "not_found"


def test_data_carries_the_documented_quirks(sandbox_session: Sandbox) -> None:
    resources = sandbox_session.truth_invoices("bikeshop")
    money = [r["attributes"][k] for r in resources for k in ("subtotal", "total", "discount", "postage")]
    assert any(m.endswith(".0") for m in money)
    assert any(m.endswith(".") for m in money)
    assert any("." not in m for m in money)
    stamps = [r["attributes"][k] for r in resources
              for k in ("paid_at", "ready_at", "collected_at", "created_at", "updated_at")
              if r["attributes"][k]]
    assert {s[-6:] for s in stamps} == {"+10:00", "+11:00"}

    def impossible(text: str) -> bool:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            return True
        return False

    assert any(impossible(s) for s in stamps)
    combos = {(r["attributes"]["delivery_type"], r["attributes"]["status"]) for r in resources}
    assert combos == {("buy_online", "paid"), ("buy_online", "partially_sent"), ("buy_online", "sent"),
                      ("click_and_collect", "paid"), ("click_and_collect", "ready"),
                      ("click_and_collect", "collected")}
    assert any("," in (r["attributes"]["postage_tracking"] or "") for r in resources)


def test_buy_online_invoice_is_marked_sent_once(mp: httpx.Client, sandbox: Sandbox) -> None:
    inv = _resources(sandbox, "buy_online", "paid")[0]
    before = inv["attributes"]["updated_at"]
    body = {"data": {"type": "invoices", "attributes": {
        "postage_tracking": "TRACK007", "postage_carrier": "AusPost", "note": "Fragile"}}}
    r = mp.put(f"/invoices/{inv['id']}/sent", content=json.dumps(body), headers=JSONAPI)
    assert r.status_code == 200
    attrs = r.json()["data"]["attributes"]
    assert attrs["status"] == "sent" and attrs["postage_tracking"] == "TRACK007"
    assert attrs["updated_at"] != before
    shipments = [i for i in r.json()["included"] if i["type"] == "shipments"]
    assert shipments[-1]["attributes"]["note"] == "Fragile"
    again = mp.put(f"/invoices/{inv['id']}/sent", content=json.dumps(body), headers=JSONAPI)
    assert again.status_code == 422
    assert again.json() == {"errors": [
        "Invoice must be paid or partially sent before we can mark it as sent."]}


def test_click_and_collect_goes_ready_then_collected(mp: httpx.Client, sandbox: Sandbox) -> None:
    inv = _resources(sandbox, "click_and_collect", "paid")[0]
    early = mp.put(f"/invoices/{inv['id']}/collected", headers=JSONAPI)
    assert early.status_code == 422 and isinstance(early.json()["errors"][0], str)
    ready = mp.put(f"/invoices/{inv['id']}/ready", headers=JSONAPI)
    assert ready.status_code == 200
    assert ready.json()["data"]["attributes"]["status"] == "ready"
    assert ready.json()["data"]["attributes"]["ready_at"]
    done = mp.put(f"/invoices/{inv['id']}/collected", headers=JSONAPI)
    assert done.status_code == 200
    assert done.json()["data"]["attributes"]["status"] == "collected"
    stamps = [ready.json()["data"]["attributes"]["updated_at"],
              done.json()["data"]["attributes"]["updated_at"]]
    assert stamps[0] != stamps[1], "every change moves updated_at"


def test_wrong_delivery_type_and_wrong_media_type(mp: httpx.Client, sandbox: Sandbox) -> None:
    online = _resources(sandbox, "buy_online", "paid")[0]
    r = mp.put(f"/invoices/{online['id']}/ready", headers=JSONAPI)
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["status"] == "unprocessable_entity" and err["title"] and err["detail"]
    assert "source" in err
    collect = _resources(sandbox, "click_and_collect", "paid")[0]
    assert mp.put(f"/invoices/{collect['id']}/sent", headers=JSONAPI).status_code == 422
    reference = json.loads((REFERENCE / "error_415_unsupported_media_type.json").read_text())
    for headers in ({}, {"Content-Type": "application/json"}):
        r = mp.put(f"/invoices/{online['id']}/sent", content=b"{}", headers=headers)
        assert r.status_code == 415
        assert r.json() == reference["payload"]
    assert mp.get(f"/invoices/{online['id']}").json()["data"]["attributes"]["status"] == "paid"


def test_partial_shipment_then_the_rest(mp: httpx.Client, sandbox: Sandbox) -> None:
    inv = next(r for r in _resources(sandbox, "buy_online", "paid")
               if sum(i["attributes"]["quantity"] for i in mp.get(f"/invoices/{r['id']}").json()
                      ["included"] if i["type"] == "line_items") >= 2)
    items = [i for i in mp.get(f"/invoices/{inv['id']}").json()["included"] if i["type"] == "line_items"]
    first = items[0]

    def ship(tracking: str, shipped: list[dict]) -> httpx.Response:
        body = {"data": {"type": "shipments", "attributes": {
            "shipment_tracking_number": tracking, "shipment_carrier": "Australia Post",
            "shipped_items": shipped}}}
        return mp.post(f"/invoices/{inv['id']}/shipments", content=json.dumps(body), headers=JSONAPI)

    too_many = ship("T0", [{"line_item_id": first["id"], "quantity": 99}])
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["source"]
    r = ship("T1", [{"line_item_id": first["id"], "quantity": 1}])
    assert r.status_code == 201
    assert r.json()["data"]["type"] == "shipments"
    assert r.json()["data"]["relationships"]["invoice"]["data"]["id"] == int(inv["id"])
    shown = mp.get(f"/invoices/{inv['id']}").json()["data"]["attributes"]
    assert shown["status"] == "partially_sent" and shown["postage_tracking"] == "T1"
    rest = [{"line_item_id": str(i["id"]), "quantity": str(i["attributes"]["quantity"] - (i is first))}
            for i in items if i["attributes"]["quantity"] - (i is first) > 0]
    assert ship("T2", rest).status_code == 201
    shown = mp.get(f"/invoices/{inv['id']}").json()["data"]["attributes"]
    assert shown["status"] == "sent"
    assert [t.strip() for t in shown["postage_tracking"].split(",")] == ["T1", "T2"]
    listed = mp.get(f"/invoices/{inv['id']}/shipments").json()["data"]
    assert [s["attributes"]["shipment_tracking_number"] for s in listed] == ["T1", "T2"]
    assert ship("T3", rest).status_code == 422


def test_fifty_requests_per_second_per_seller(arun) -> None:
    async def burst(url: str, key: str, n: int) -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=20,
                                     limits=limits) as client:
            return await asyncio.gather(*(client.get(url) for _ in range(n)))

    with Sandbox(seed=5, orders=5, invoices=10) as sb:
        answers = arun(burst(sb.marketplacer_url + "/api/v2/client/invoices/1",
                                    sb.sellers[0].api_key, 80))
        refused = [r for r in answers if r.status_code == 429]
        assert refused and len(refused) < len(answers)
        assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)


def test_deprecated_line_item_ids_ship_whole_lines_and_tracking_can_be_fixed(
        mp: httpx.Client, sandbox: Sandbox) -> None:
    inv = _resources(sandbox, "buy_online", "paid")[-1]
    items = [i for i in mp.get(f"/invoices/{inv['id']}").json()["included"] if i["type"] == "line_items"]
    body = {"data": {"type": "shipments", "attributes": {
        "shipment_tracking_number": "OLD1", "shipment_carrier": "Sendle",
        "line_items_ids": [i["id"] for i in items]}}}
    r = mp.post(f"/invoices/{inv['id']}/shipments", content=json.dumps(body), headers=JSONAPI)
    assert r.status_code == 201
    shipped = {i["attributes"]["line_item_id"]: i["attributes"]["quantity"]
               for i in r.json()["included"] if i["type"] == "shipped_items"}
    assert shipped == {i["id"]: i["attributes"]["quantity"] for i in items}
    assert mp.get(f"/invoices/{inv['id']}").json()["data"]["attributes"]["status"] == "sent"
    sid = r.json()["data"]["id"]
    fix = {"data": {"type": "shipments", "attributes": {"shipment_tracking_number": "NEW2"}}}
    r = mp.put(f"/invoices/{inv['id']}/shipments/{sid}", content=json.dumps(fix), headers=JSONAPI)
    assert r.status_code == 200
    assert r.json()["data"]["attributes"]["shipment_tracking_number"] == "NEW2"
    assert mp.get(f"/invoices/{inv['id']}").json()["data"]["attributes"]["postage_tracking"] == "NEW2"
