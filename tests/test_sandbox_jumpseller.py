"""The sandbox's Jumpseller API behaves like the real one, over real HTTP."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from invoicedesk.sandbox import Sandbox
from invoicedesk.sandbox.ratelimit import RateLimiter

UTC_DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@pytest.fixture
def js(sandbox: Sandbox) -> Iterator[httpx.Client]:
    store = sandbox.stores[0]
    with httpx.Client(base_url=sandbox.jumpseller_url, auth=(store.login, store.token),
                      timeout=10) as client:
        yield client


def _all_pages(client: httpx.Client, path: str, limit: int, **params: object) -> list[list[dict]]:
    pages = []
    page = 1
    while True:
        r = client.get(path, params={**params, "page": page, "limit": limit})
        assert r.status_code == 200, r.text
        body = r.json()
        assert isinstance(body, list)
        pages.append(body)
        if len(body) < limit:
            return pages
        page += 1


def test_basic_auth_is_checked_per_store(sandbox: Sandbox) -> None:
    demo, tienda = sandbox.stores[0], sandbox.stores[1]
    url = sandbox.jumpseller_url + "/orders.json"
    with httpx.Client(timeout=10) as c:
        assert c.get(url, auth=(demo.login, demo.token)).status_code == 200
        for auth in ((demo.login, "wrong"), (demo.login, tienda.token), ("nobody", demo.token)):
            r = c.get(url, auth=auth)
            assert r.status_code == 401
            assert isinstance(r.json()["message"], str)
        r = c.get(url)
        assert r.status_code == 401 and "message" in r.json()
        # The deprecated query parameters still work (clients must not use them).
        r = c.get(url, params={"login": demo.login, "authtoken": demo.token, "limit": 1})
        assert r.status_code == 200 and len(r.json()) == 1


def test_paging_reaches_a_short_last_page_and_agrees_with_count(js: httpx.Client,
                                                              sandbox: Sandbox) -> None:
    pages = _all_pages(js, "/orders.json", 50)
    assert all(len(p) == 50 for p in pages[:-1]) and len(pages[-1]) < 50
    ids = [o["order"]["id"] for p in pages for o in p]
    assert ids == sorted(ids, reverse=True), "newest first, consistently"
    assert len(ids) == len(set(ids))
    assert js.get("/orders/count.json").json() == {"count": len(ids)}
    truth = [o["order"]["id"] for o in sandbox.truth_orders(sandbox.stores[0].login)]
    assert sorted(ids) == truth


def test_limit_is_clamped_to_100(js: httpx.Client) -> None:
    assert len(js.get("/orders.json", params={"limit": 500}).json()) == 100
    assert len(js.get("/orders.json").json()) == 50  # default


def test_status_filters_and_translated_statuses(sandbox: Sandbox) -> None:
    tienda = sandbox.stores[1]
    with httpx.Client(base_url=sandbox.jumpseller_url, auth=(tienda.login, tienda.token),
                      timeout=10) as c:
        params = [("status_filters[]", "paid"), ("status_filters[]", "canceled"), ("limit", "100")]
        orders = [o["order"] for o in c.get("/orders.json", params=params).json()]
        assert orders and {o["status_enum"] for o in orders} <= {"paid", "canceled"}
        assert {o["status"] for o in orders} <= {"Pagado", "Cancelado"}
        count = c.get("/orders/count.json", params=params).json()["count"]
        assert count == len(orders)
        by_status = c.get("/orders/status/pending_payment.json", params={"limit": 100}).json()
        assert by_status and {o["order"]["status"] for o in by_status} == {"Pago Pendiente"}
        r = c.get("/orders/status/shipped.json")
        assert r.status_code == 404 and "message" in r.json()


def test_after_lists_higher_ids_oldest_first_in_pages(js: httpx.Client, sandbox: Sandbox) -> None:
    truth = [o["order"]["id"] for o in sandbox.truth_orders(sandbox.stores[0].login)]
    pivot = truth[10]
    pages = _all_pages(js, f"/orders/after/{pivot}.json", 30)
    ids = [o["order"]["id"] for p in pages for o in p]
    assert ids == [i for i in truth if i > pivot]
    assert js.get(f"/orders/after/{truth[-1]}.json").json() == []


def test_unknown_order_is_404_with_a_message(js: httpx.Client) -> None:
    r = js.get("/orders/999999.json")
    assert r.status_code == 404
    assert r.json() == {"message": "Order not found"}


def test_order_payloads_look_like_jumpseller(sandbox_session: Sandbox) -> None:
    """Shape, money consistency and the quirks clients must survive, across a whole store."""
    seen = {"str_id": 0, "int_id": 0, "taxid_null": 0, "taxid_missing": 0, "biz_no_taxid": 0,
            "gift_product": 0, "gift_redeemed": 0, "iso": 0, "tracking": 0, "pickup": 0}
    for store in sandbox_session.stores[:2]:
        for body in sandbox_session.truth_orders(store.login):
            o = body["order"]
            for key in ("id", "created_at", "completed_at", "status", "status_enum", "currency",
                        "subtotal", "tax", "shipping", "discount", "gift_cards_discount", "total",
                        "customer", "billing_address", "shipping_address", "products",
                        "shipping_option", "fulfillment_status", "shipment_status",
                        "shipment_status_enum", "tracking_number", "additional_fields"):
                assert key in o, key
            assert o["currency"] == store.currency
            assert UTC_DATE.match(o["created_at"]) or ISO_DATE.match(o["created_at"])
            seen["iso"] += bool(ISO_DATE.match(o["created_at"]))
            money = {k: Decimal(str(o[k])) for k in ("subtotal", "tax", "shipping", "shipping_tax",
                                                     "discount", "shipping_discount",
                                                     "gift_cards_discount", "total")}
            assert all(isinstance(o[k], float) for k in money)
            assert money["total"] == (money["subtotal"] + money["tax"] + money["shipping"]
                                      + money["shipping_tax"] - money["discount"]
                                      - money["shipping_discount"] - money["gift_cards_discount"])
            if store.currency == "CLP":
                assert all(v == v.to_integral_value() for v in money.values())
            lines = sum(Decimal(str(p["price"])) * p["qty"] for p in o["products"])
            assert lines == money["subtotal"]
            for p in o["products"]:
                assert p["type"] in ("physical", "digital", "gift_card")
                if p["type"] == "gift_card":
                    seen["gift_product"] += 1
                    assert p["taxes"] == [] and p["tax"] == 0
            seen["gift_redeemed"] += money["gift_cards_discount"] > 0
            seen["str_id"] += isinstance(o["customer"]["id"], str)
            seen["int_id"] += isinstance(o["customer"]["id"], int)
            billing = o["billing_address"]
            seen["taxid_missing"] += "taxid" not in billing
            seen["taxid_null"] += "taxid" in billing and billing["taxid"] is None
            info = o.get("billing_information") or {}
            seen["biz_no_taxid"] += bool(info.get("company_name")) and not billing.get("taxid")
            seen["tracking"] += o["tracking_number"] is not None
            seen["pickup"] += o["shipping_option"] == "store_pickup"
    assert all(n > 0 for n in seen.values()), seen


def test_date_filters_follow_the_sandbox_clock(js: httpx.Client, sandbox: Sandbox) -> None:
    now = sandbox.now()
    truth = [o["order"] for o in sandbox.truth_orders(sandbox.stores[0].login)]

    def created(o: dict) -> datetime:
        text = o["created_at"]
        return (datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
                if text.endswith("UTC") else datetime.fromisoformat(text))

    week = js.get("/orders.json", params={"dateFilter": "last7days", "limit": 100}).json()
    assert {o["order"]["id"] for o in week} == {
        o["id"] for o in truth if created(o) >= now - timedelta(days=7)}
    first, last = (now - timedelta(days=40)).date(), (now - timedelta(days=20)).date()
    custom = js.get("/orders.json", params={"dateFilter": "customDate", "limit": 100,
                                            "initialDate": str(first), "finalDate": str(last)}).json()
    expected = {o["id"] for o in truth if first <= created(o).date() <= last}
    assert expected and {o["order"]["id"] for o in custom} == expected
    r = js.get("/orders.json", params={"dateFilter": "customDate", "initialDate": "2026-01-01"})
    assert r.status_code == 400 and r.json()["errors"]


def test_documents_round_trip(js: httpx.Client, sandbox: Sandbox) -> None:
    oid = next(o["order"]["id"] for o in sandbox.truth_orders(sandbox.stores[0].login)
               if o["order"]["status_enum"] == "paid")
    before = js.get(f"/orders/{oid}/documents.json").json()
    doc = {"document_type": 1, "external_id": "X-1", "public_id": "INV-T-1",
           "url": "https://invoices.example/INV-T-1"}
    r = js.post(f"/orders/{oid}/documents.json", json={"document": doc})
    assert r.status_code == 201
    assert r.json()["document"] | {} == {**doc, "order_id": oid, "app_code": None}
    after = js.get(f"/orders/{oid}/documents.json").json()
    assert after == [*before, {"document": {**doc, "order_id": oid, "app_code": None}}]
    # A public id can be attached once per order.
    assert js.post(f"/orders/{oid}/documents.json", json={"document": doc}).status_code == 422


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"document": {"document_type": 2, "public_id": "A", "url": "u"}}, {}, 400),
        ({"document": {"document_type": 1, "url": "u"}}, {}, 400),
        ({"document": {"document_type": 0, "public_id": "A"}}, {}, 400),
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b'{"document": {}}', {"Content-Type": "text/plain"}, 415),
    ],
)
def test_documents_refuse_bad_bodies(js: httpx.Client, body: object, headers: dict, status: int) -> None:
    oid = js.get("/orders.json", params={"limit": 1}).json()[0]["order"]["id"]
    if isinstance(body, bytes):
        r = js.post(f"/orders/{oid}/documents.json", content=body, headers=headers)
    else:
        r = js.post(f"/orders/{oid}/documents.json", json=body)
    assert r.status_code == status
    assert isinstance(r.json()["errors"], list) and r.json()["errors"]
    assert js.post("/orders/999999/documents.json",
                   json={"document": {"document_type": 1, "public_id": "A", "url": "u"}}
                   ).status_code == 404


def test_orders_invoiced_earlier_link_to_their_documents(js: httpx.Client, sandbox: Sandbox) -> None:
    docs = sandbox.truth_documents(sandbox.stores[0].login)
    kinds = {d["document_type"] for ds in docs.values() for d in ds}
    assert kinds == {0, 1}, "both invoices and credit notes exist from the start"
    oid, expected = next(iter(docs.items()))
    served = js.get(f"/orders/{oid}/documents.json").json()
    assert [d["document"] for d in served] == expected
    page = httpx.get(expected[0]["url"], timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_rate_limit_headers_on_every_answer(js: httpx.Client) -> None:
    for path in ("/orders.json", "/orders/999999.json", "/orders/count.json"):
        r = js.get(path)
        assert r.headers["Jumpseller-PerSecondRateLimit-Limit"] == "20"
        assert r.headers["Jumpseller-PerMinuteRateLimit-Limit"] == "800"
        assert int(r.headers["Jumpseller-PerSecondRateLimit-Remaining"]) >= 0
        assert int(r.headers["Jumpseller-PerMinuteRateLimit-Remaining"]) < 800


async def _burst(url: str, auth: tuple[str, str], n: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(auth=auth, timeout=20, limits=limits) as client:
        return await asyncio.gather(*(client.get(url) for _ in range(n)))


def test_a_burst_over_20_per_second_gets_429_then_a_ban(arun) -> None:
    with Sandbox(seed=3, orders=20, invoices=5) as sb:
        store = sb.stores[0]
        url = sb.jumpseller_url + "/orders/count.json"
        answers = arun(_burst(url, (store.login, store.token), 40))
        ok = [r for r in answers if r.status_code == 200]
        refused = [r for r in answers if r.status_code == 429]
        # (Exactly 20 pass when the burst fits in one second; the limiter test pins that down.)
        assert ok and refused, [r.status_code for r in answers]
        assert all(r.headers["Jumpseller-PerSecondRateLimit-Remaining"].isdigit() for r in answers)
        assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
        assert all("message" in r.json() for r in refused)
        # Keep hammering: 30 refusals within a minute ban the store.
        answers = arun(_burst(url, (store.login, store.token), 60))
        banned = httpx.get(url, auth=(store.login, store.token), timeout=10)
        assert banned.status_code == 429
        reset = int(banned.headers["Jumpseller-BannedByRateLimit-Reset"])
        assert reset > time.time()
        # The other store is not affected.
        other = sb.stores[1]
        assert httpx.get(url, auth=(other.login, other.token), timeout=10).status_code == 200


def test_rate_limits_can_be_switched_off(arun) -> None:
    with Sandbox(seed=3, orders=20, invoices=5, rate_limits=False) as sb:
        store = sb.stores[0]
        answers = arun(_burst(sb.jumpseller_url + "/orders/count.json",
                                     (store.login, store.token), 45))
        assert {r.status_code for r in answers} == {200}


def test_rate_limiter_windows_and_ban_exactly() -> None:
    """The limiter's rules with a hand-moved clock: sliding windows, refusals, the ban."""
    now = [1000.0]
    wall = [1_800_000_000.0]
    lim = RateLimiter(20, 800, ban_after=30, ban_window=60, ban_seconds=60,
                      monotonic=lambda: now[0], wall=lambda: wall[0])
    verdicts = [lim.check("s") for _ in range(21)]
    assert all(v.allowed for v in verdicts[:20]) and not verdicts[20].allowed
    assert verdicts[19].per_second_remaining == 0 and verdicts[19].per_minute_remaining == 780
    assert verdicts[20].retry_after == 1 and verdicts[20].banned_until is None
    now[0] += 1.0
    assert lim.check("s").allowed  # the one-second window slid past the burst
    for _ in range(28):
        lim.check("s")  # 19 more allowed, then refusals 2..10
    refusals = sum(not lim.check("s").allowed for _ in range(20))
    assert refusals == 20
    v = lim.check("s")
    assert not v.allowed and v.banned_until == int(wall[0]) + 60
    now[0] += 61
    assert lim.check("s").allowed  # the ban is over
    assert lim.check("other").allowed


def test_locale_and_fields_shape_the_payload(js: httpx.Client) -> None:
    params = {"status_filters[]": "paid", "limit": 3}
    spanish = js.get("/orders.json", params={**params, "locale": "es"}).json()
    assert {o["order"]["status"] for o in spanish} == {"Pagado"}
    slim = js.get("/orders.json", params={**params, "fields": "id,total"}).json()
    assert [set(o["order"]) for o in slim] == [{"id", "total"}] * 3
