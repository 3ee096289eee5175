"""The sandbox plays every documented answer shape on demand, over real HTTP.

Each test switches one shape on (``sb.set_shapes``) and checks the wire, and checks that the
default answer is unchanged where a client could tell the difference.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from invoicedesk.sandbox import Sandbox
from invoicedesk.sandbox.shapes import PROFILES, SHAPES

JSONAPI = {"Content-Type": "application/vnd.api+json"}


@pytest.fixture
def js(sandbox: Sandbox) -> Iterator[httpx.Client]:
    store = sandbox.stores[0]
    with httpx.Client(base_url=sandbox.jumpseller_url, auth=(store.login, store.token),
                      timeout=10) as client:
        yield client


@pytest.fixture
def mp(sandbox: Sandbox) -> Iterator[httpx.Client]:
    seller = sandbox.sellers[0]
    with httpx.Client(base_url=sandbox.marketplacer_url + "/api/v2/client",
                      headers={"Authorization": f"Bearer {seller.api_key}"}, timeout=10) as c:
        yield c


def _order_ids(sb: Sandbox, status: str) -> list[int]:
    return [o["order"]["id"] for o in sb.truth_orders(sb.stores[0].login)
            if o["order"]["status_enum"] == status]


# -- switching ---------------------------------------------------------------------------------


def test_shapes_switch_by_constructor_method_and_control_api(sandbox: Sandbox) -> None:
    assert sandbox.shapes == frozenset()
    with pytest.raises(ValueError, match="no_such_shape"):
        Sandbox(shapes={"no_such_shape"})
    with pytest.raises(ValueError, match="unknown profile"):
        Sandbox(profile="moon")
    assert Sandbox(profile="real-world", orders=10, invoices=10).shapes == PROFILES["real-world"]
    assert PROFILES["real-world"] == frozenset(SHAPES) - {"documents_listing_refused"}
    sandbox.set_shapes({"next_always"})
    assert sandbox.shapes == {"next_always"}
    with httpx.Client(base_url=sandbox.control_url, timeout=10) as c:
        r = c.post("/shapes", json={"profile": "real-world", "shapes": ["documents_listing_refused"]})
        assert r.status_code == 200
        assert set(r.json()["shapes"]) == set(SHAPES)
        assert set(c.get("/state").json()["shapes"]) == set(SHAPES)
        assert c.post("/shapes", json={"shapes": ["bogus"]}).status_code == 400
        assert c.post("/shapes", json={}).json()["shapes"] == []
    assert sandbox.shapes == frozenset()


# -- 1. document_type strings and other apps' documents ------------------------------------------


def test_document_type_strings_are_served_and_accepted(js: httpx.Client, sandbox: Sandbox) -> None:
    login = sandbox.stores[0].login
    oid = next(o for o, docs in sandbox.truth_documents(login).items() if len(docs) >= 2)
    plain = js.get(f"/orders/{oid}/documents.json").json()
    assert {d["document"]["document_type"] for d in plain} == {0, 1}
    sandbox.set_shapes({"doc_type_strings"})
    shaped = js.get(f"/orders/{oid}/documents.json").json()
    assert {d["document"]["document_type"] for d in shaped} == {"0 - credit note", "1 - invoice"}
    paid = _order_ids(sandbox, "paid")[-1]
    for n, kind in enumerate(("1 - invoice", "0 - credit note", "invoice", "1"), 1):
        doc = {"document_type": kind, "public_id": f"S-{n}", "url": f"https://x.example/{n}"}
        r = js.post(f"/orders/{paid}/documents.json", json={"document": doc})
        assert r.status_code == 201, r.text
        assert r.json()["document"]["document_type"] in ("1 - invoice", "0 - credit note")
    bad = {"document_type": "2 - receipt", "public_id": "S-9", "url": "https://x.example/9"}
    assert js.post(f"/orders/{paid}/documents.json", json={"document": bad}).status_code == 400
    types = [d["document"]["document_type"] for d in js.get(f"/orders/{paid}/documents.json").json()]
    assert types[-4:] == ["1 - invoice", "0 - credit note", "1 - invoice", "1 - invoice"]


def test_other_apps_documents_appear_only_with_the_shape(js: httpx.Client, sandbox: Sandbox) -> None:
    login = sandbox.stores[0].login
    before = sandbox.truth_documents(login)
    assert all(d["app_code"] != "other-billing" for docs in before.values() for d in docs)
    sandbox.set_shapes({"other_app_documents"})
    after = sandbox.truth_documents(login)
    foreign = {oid for oid, docs in after.items() for d in docs if d["app_code"] == "other-billing"}
    assert foreign, "some orders carry another app's document"
    oid = min(foreign)
    served = js.get(f"/orders/{oid}/documents.json").json()
    assert all("app_code" in d["document"] for d in served)
    other = [d["document"] for d in served if d["document"]["app_code"] == "other-billing"]
    assert other and other[0]["order_id"] == oid and other[0]["document_type"] == 1
    assert other[0]["url"].startswith("https://other-billing.example/")
    # The invoicing service did not issue another app's document.
    only_foreign = foreign - set(before)
    assert only_foreign
    assert all(sandbox.issued_kinds(login, o) == [] for o in only_foreign)


# -- 2. the store-wide documents listing ------------------------------------------------------------


def _listing(js: httpx.Client, limit: int) -> list[dict[str, Any]]:
    out, page = [], 1
    while True:
        r = js.get("/documents.json", params={"page": page, "limit": limit})
        assert r.status_code == 200, r.text
        body = r.json()
        if not body:
            return out
        assert len(body) <= min(limit, 100)
        out += [item["document"] for item in body]
        page += 1


def test_documents_listing_pages_through_every_document(js: httpx.Client, sandbox: Sandbox) -> None:
    login = sandbox.stores[0].login
    # By order id, then as attached.
    truth = [(oid, d["public_id"]) for oid, docs in sorted(sandbox.truth_documents(login).items())
             for d in docs]
    listed = _listing(js, 7)
    assert [(d["order_id"], d["public_id"]) for d in listed] == truth
    assert all("app_code" in d for d in listed)
    assert len(js.get("/documents.json", params={"limit": 500}).json()) == min(100, len(truth))


def test_documents_listing_unsorted_and_with_other_apps(js: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_shapes({"documents_unsorted", "other_app_documents"})
    login = sandbox.stores[0].login
    truth = sorted((oid, d["public_id"]) for oid, docs in sandbox.truth_documents(login).items()
                   for d in docs)
    first, second = _listing(js, 10), _listing(js, 10)
    pairs = [(d["order_id"], d["public_id"]) for d in first]
    assert sorted(pairs) == truth and len(set(pairs)) == len(pairs)
    assert pairs != truth, "the listing's order follows nothing"
    assert first == second, "but it is stable from one pass to the next"
    assert any(d["app_code"] == "other-billing" for d in first)


def test_documents_listing_can_be_refused(js: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_shapes({"documents_listing_refused"})
    r = js.get("/documents.json")
    assert r.status_code == 403 and r.json()["message"]


# -- 3. status/after listings that ignore page --------------------------------------------------------


def test_status_and_after_listings_can_ignore_page(js: httpx.Client, sandbox: Sandbox) -> None:
    first = sandbox.truth_orders(sandbox.stores[0].login)[0]["order"]["id"]
    paths = ["/orders/status/paid.json", f"/orders/after/{first}.json"]

    def ids(path: str, page: int) -> list[int]:
        r = js.get(path, params={"page": page, "limit": 10})
        assert r.status_code == 200
        return [o["order"]["id"] for o in r.json()]

    for path in paths:
        assert ids(path, 1) != ids(path, 2)
    sandbox.set_shapes({"paging_ignored"})
    for path in paths:
        assert len(ids(path, 1)) == 10
        assert ids(path, 1) == ids(path, 2) == ids(path, 9)
    # /orders.json keeps honouring page.
    a = js.get("/orders.json", params={"page": 1, "limit": 10}).json()
    b = js.get("/orders.json", params={"page": 2, "limit": 10}).json()
    assert a != b


# -- 8. statuses in Portuguese and French ------------------------------------------------------------


def test_statuses_in_portuguese_and_french_without_enum(js: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_shapes({"statuses_pt_fr"})
    orders = [o["order"] for o in js.get("/orders.json", params={"limit": 100}).json()]
    assert all("status_enum" not in o for o in orders)
    words = {o["status"] for o in orders}
    assert {"Pago", "Payé"} <= words
    assert words <= {"Pago", "Pendente", "Cancelado", "Abandonado", "Payé",
                     "En attente de paiement", "Annulé", "Abandonné"}
    truth = {o["order"]["id"]: o["order"]["status_enum"] for o in sandbox.truth_orders(
        sandbox.stores[0].login)}
    by_word = {"Pago": "paid", "Payé": "paid", "Cancelado": "canceled", "Annulé": "canceled"}
    assert all(by_word[o["status"]] == truth[o["id"]] for o in orders if o["status"] in by_word)
    one = js.get(f"/orders/{orders[0]['id']}.json").json()["order"]
    assert "status_enum" not in one and one["status"] == orders[0]["status"]


# -- 7. ban reset as an ISO time, rate-limit refusals as 403 ---------------------------------------------


def test_ban_reset_is_unix_seconds_by_default_and_iso_under_the_shape(js: httpx.Client,
                                                                       sandbox: Sandbox) -> None:
    login = sandbox.stores[0].login
    sandbox.ban(login, 120)
    r = js.get("/orders/count.json")
    assert r.status_code == 429 and r.headers["Retry-After"]
    assert r.headers["Jumpseller-BannedByRateLimit-Reset"].isdigit()
    sandbox.set_shapes({"ban_reset_iso"})
    r = js.get("/orders/count.json")
    assert r.status_code == 429
    reset = datetime.fromisoformat(r.headers["Jumpseller-BannedByRateLimit-Reset"])
    assert reset.utcoffset() == timedelta(0)
    now = datetime.now(reset.tzinfo)
    assert now + timedelta(seconds=100) < reset < now + timedelta(seconds=125)


def test_rate_limit_refusals_can_be_403_without_retry_after(sandbox: Sandbox, arun) -> None:
    sandbox.set_shapes({"rate_limit_403"})
    store = sandbox.stores[0]

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=sandbox.jumpseller_url, timeout=10,
                                     auth=(store.login, store.token)) as c:
            return list(await asyncio.gather(*(c.get("/orders/count.json") for _ in range(100))))

    answers = arun(burst())
    refused = [r for r in answers if r.status_code != 200]
    assert refused, "100 requests at once exceed 20 per second"
    for r in refused:
        assert r.status_code == 403 and "Retry-After" not in r.headers
        assert r.headers["Jumpseller-PerSecondRateLimit-Remaining"] == "0"
    sandbox.ban(store.login, 60)
    with httpx.Client(timeout=10, auth=(store.login, store.token)) as c:
        r = c.get(sandbox.jumpseller_url + "/orders/count.json")
    assert r.status_code == 403 and "Retry-After" not in r.headers
    assert r.headers["Jumpseller-BannedByRateLimit-Reset"]


# -- 4, 5, 9, 10. Marketplacer --------------------------------------------------------------------------


def test_links_next_on_every_page_and_past_the_last_an_empty_page(mp: httpx.Client,
                                                                  sandbox: Sandbox) -> None:
    total = len(sandbox.truth_invoices(sandbox.sellers[0].name))
    last = -(-total // 50)
    plain = mp.get("/invoices", params={"page[number]": last}).json()
    assert "next" not in plain["links"]
    sandbox.set_shapes({"next_always"})
    body = mp.get("/invoices", params={"page[number]": last}).json()
    assert body["data"] and body["links"]["next"]
    beyond = mp.get(body["links"]["next"]).json()
    assert beyond["data"] == [] and beyond["links"]["next"]


def test_thin_answers_to_state_changes(mp: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_shapes({"thin_transitions"})
    inv = next(r for r in sandbox.truth_invoices(sandbox.sellers[0].name)
               if r["attributes"]["delivery_type"] == "buy_online"
               and r["attributes"]["status"] == "paid")
    body = {"data": {"type": "invoices", "attributes": {"postage_tracking": "T1",
                                                        "postage_carrier": "AusPost"}}}
    r = mp.put(f"/invoices/{inv['id']}/sent", content=json.dumps(body), headers=JSONAPI)
    assert r.status_code == 200
    doc = r.json()
    assert set(doc) == {"data"}
    assert set(doc["data"]) == {"id", "type", "attributes"}
    assert set(doc["data"]["attributes"]) == {"status", "updated_at"}
    assert doc["data"]["attributes"]["status"] == "sent"
    shown = mp.get(f"/invoices/{inv['id']}").json()["data"]["attributes"]
    assert shown["postage_tracking"] == "T1", "the change itself is complete"


def test_invoices_without_updated_at(mp: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_shapes({"no_updated_at"})
    page = mp.get("/invoices", params={"include": "line_items,customer"}).json()
    assert page["data"] and all("updated_at" not in d["attributes"] for d in page["data"])
    assert all("paid_at" in d["attributes"] for d in page["data"])
    one = mp.get(f"/invoices/{page['data'][0]['id']}").json()
    assert "updated_at" not in one["data"]["attributes"]
    # updated_since still filters on the service's own clock.
    assert mp.get("/invoices", params={"updated_since": "2000-01-01T00:00:00Z"}).json()["data"]


def test_list_pages_can_reuse_the_customer_ids(mp: httpx.Client, sandbox: Sandbox) -> None:
    params = {"include": "customer", "page[size]": 10}
    plain = mp.get("/invoices", params=params).json()
    keys = [(i["type"], i["id"]) for i in plain["included"]]
    assert len(keys) == len(set(keys))
    sandbox.set_shapes({"included_ids_reused"})
    page = mp.get("/invoices", params=params).json()
    customers = [i for i in page["included"] if i["id"] == "customer"]
    assert len(customers) == len(page["data"]) == 10
    assert len({json.dumps(c["attributes"], sort_keys=True) for c in customers}) > 1
    for inv in page["data"]:
        assert inv["relationships"]["customer"]["data"] == {"type": "customers", "id": "customer"}
        assert inv["relationships"]["billing_customer"]["data"]["id"] == "billing_customer"


# -- 6. the invoicing endpoint -----------------------------------------------------------------------


def _post(sb: Sandbox, path: str, order: dict[str, Any]) -> httpx.Response:
    store = sb.stores[0]
    raw = json.dumps({"order": order}).encode()
    headers = {"Content-Type": "application/json", "Jumpseller-Store-Code": store.login}
    assert store.hooks_token
    digest = hmac.new(store.hooks_token.encode(), raw, hashlib.sha256).digest()
    headers["Jumpseller-Hmac-Sha256"] = base64.b64encode(digest).decode()
    return httpx.post(sb.base_url + path, content=raw, headers=headers, timeout=10)


def _contract_order(oid: int, status: str = "paid", tax_id: str | None = "76.123.456-7",
                    company: str | None = None) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": oid, "created_at": "2026-11-05T11:26:30Z", "currency": "CLP", "subtotal": 10000,
        "total": 11900, "status": status,
        "customer": {"email": "c@example.com", "fullname": "Ana Pérez", "tax_id": tax_id},
        "products": [{"name": "Taza", "price": 10000, "quantity": 1, "sku": "T-1"}],
        "billing_address": {"country": "CL", "zip": "8320000"},
    }
    if company:
        order["billing_information"] = {"company_name": company}
    return order


def test_refusals_can_come_as_200_with_only_a_message(sandbox: Sandbox) -> None:
    business = _contract_order(5001, tax_id=None, company="Comercial Andes SpA")
    r = _post(sandbox, "/invoicing/invoices", business)
    assert r.status_code == 422
    sandbox.set_shapes({"invoicing_refuses_2xx"})
    r = _post(sandbox, "/invoicing/invoices", business)
    assert r.status_code == 200
    assert r.json() == {"message": "Customer tax ID is required for invoice generation"}
    assert sandbox.invoices_created() == []


def test_an_endpoint_that_ignores_status_invoices_a_canceled_order_again(sandbox: Sandbox) -> None:
    login = sandbox.stores[0].login
    assert _post(sandbox, "/invoicing/invoices", _contract_order(5002)).status_code == 201
    sandbox.set_shapes({"invoicing_ignores_status"})
    r = _post(sandbox, "/invoicing/invoices", _contract_order(5002, status="canceled"))
    assert r.status_code == 201 and r.json()["public_id"].startswith("INV-")
    assert sandbox.issued_kinds(login, 5002) == ["invoice", "invoice"]
    assert [c["kind"] for c in sandbox.invoices_created(login, order_id=5002)] == ["invoice"] * 2


def test_the_credit_note_route(sandbox: Sandbox) -> None:
    login = sandbox.stores[0].login
    never = _post(sandbox, "/invoicing/credit-notes", _contract_order(5003, status="canceled"))
    assert never.status_code == 422 and "never invoiced" in never.json()["message"]
    assert _post(sandbox, "/invoicing/invoices", _contract_order(5003)).status_code == 201
    r = _post(sandbox, "/invoicing/credit-notes", _contract_order(5003, status="canceled"))
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"public_id", "url", "message"} and body["public_id"].startswith("CN-")
    assert httpx.get(body["url"], timeout=10).status_code == 200
    assert sandbox.issued_kinds(login, 5003) == ["invoice", "credit_note"]
    kinds = [c["kind"] for c in sandbox.invoices_created(login)]
    assert kinds.count("invoice") == 1 and kinds.count("credit_note") == 1
    # Seeded documents count per order too (an order invoiced and credited before the app).
    seeded = next(oid for oid, docs in sandbox.truth_documents(login).items() if len(docs) == 2)
    assert sorted(sandbox.issued_kinds(login, seeded)) == ["credit_note", "invoice"]
    assert sandbox.invoices_created(login, order_id=seeded) == []
