"""The sandbox's invoicing endpoint follows the Lightweight contract, over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from invoicedesk.sandbox import Sandbox, StoreAccount


def _order(oid: int = 1020, **changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": oid, "created_at": "2024-11-05T11:26:30Z", "currency": "USD",
        "subtotal": 10.0, "total": 10.0, "status": "paid",
        "customer": {"email": "customer@example.com", "fullname": "John Smith",
                     "tax_id": "US123456789"},
        "products": [{"name": "Premium T-Shirt", "price": 10.0, "quantity": 1, "sku": "TSHIRT-01",
                      "type": "physical"}],
        "billing_address": {"country": "US", "zip": "10001"},
    }
    order.update(changes)
    return order


def _post(sb: Sandbox, store: StoreAccount, order: dict[str, Any], *, sign: bool = True,
          key: str | None = None, signature: str | None = None) -> httpx.Response:
    raw = json.dumps({"order": order}).encode()
    headers = {"Content-Type": "application/json", "Jumpseller-Store-Code": store.login}
    if sign and store.hooks_token:
        digest = hmac.new(store.hooks_token.encode(), raw, hashlib.sha256).digest()
        headers["Jumpseller-Hmac-Sha256"] = signature or base64.b64encode(digest).decode()
    if key:
        headers["Idempotency-Key"] = key
    return httpx.post(sb.invoicing_url, content=raw, headers=headers, timeout=10)


def test_a_signed_paid_order_gets_an_invoice_with_a_page(sandbox: Sandbox) -> None:
    store = sandbox.stores[0]
    r = _post(sandbox, store, _order(), key="k-1")
    assert r.status_code == 201
    body = r.json()
    assert body["public_id"].startswith(f"INV-{store.login}-")
    assert body["url"] == f"{sandbox.base_url}/invoicing/documents/{body['public_id']}"
    assert body["message"]
    page = httpx.get(body["url"], timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert body["public_id"] in page.text and "Premium T-Shirt" in page.text
    [record] = sandbox.invoices_created(store.login)
    assert record["order_id"] == 1020 and record["kind"] == "invoice"
    assert record["public_id"] == body["public_id"] and record["idempotency_key"] == "k-1"
    assert sandbox.invoices_created(sandbox.stores[1].login) == []


def test_signature_store_code_and_media_type_are_checked(sandbox: Sandbox) -> None:
    store = sandbox.stores[0]
    bad = _post(sandbox, store, _order(), signature=base64.b64encode(b"x" * 32).decode())
    assert bad.status_code == 401 and bad.json() == {"message": "Invalid signature"}
    unsigned = _post(sandbox, store, _order(), sign=False)
    assert unsigned.status_code == 401 and unsigned.json() == {"message": "Invalid signature"}
    raw = json.dumps({"order": _order()}).encode()
    unknown = httpx.post(sandbox.invoicing_url, content=raw, timeout=10,
                         headers={"Content-Type": "application/json",
                                  "Jumpseller-Store-Code": "no-such-store"})
    assert unknown.status_code == 401 and "message" in unknown.json()
    plain = httpx.post(sandbox.invoicing_url, content=raw, timeout=10,
                       headers={"Content-Type": "text/plain", "Jumpseller-Store-Code": store.login})
    assert plain.status_code == 415
    assert sandbox.invoices_created() == []


def test_malformed_json_is_a_400_with_a_message(sandbox: Sandbox) -> None:
    store = sandbox.stores[0]
    raw = b'{"order": {"id": 1,'
    assert store.hooks_token
    sig = base64.b64encode(hmac.new(store.hooks_token.encode(), raw, hashlib.sha256).digest()).decode()
    r = httpx.post(sandbox.invoicing_url, content=raw, timeout=10, headers={
        "Content-Type": "application/json", "Jumpseller-Store-Code": store.login,
        "Jumpseller-Hmac-Sha256": sig})
    assert r.status_code == 400 and r.json()["message"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"billing_address": {"country": "CL", "zip": "7500000", "company": "Acme SpA"},
          "customer": {"email": "a@b.cl", "fullname": "Ana", "tax_id": ""}},
         "Customer tax ID is required for invoice generation"),
        ({"billing_information": {"company_name": "Acme SpA"},
          "customer": {"email": "a@b.cl", "fullname": "Ana"}},
         "Customer tax ID is required for invoice generation"),
        ({"customer": {"email": "a@b.cl", "fullname": "Ana", "company_name": "Acme SpA",
                       "tax_id": None}},
         "Customer tax ID is required for invoice generation"),
        ({"status": "pending_payment"}, None),
        ({"status": "Paid"}, None),
        ({"products": []}, None),
        ({"products": [{"name": "X", "price": "10", "quantity": 1}]}, None),
    ],
)
def test_orders_the_contract_refuses(sandbox: Sandbox, changes: dict[str, Any],
                                     message: str | None) -> None:
    r = _post(sandbox, sandbox.stores[1], _order(**changes))
    assert r.status_code == 422
    assert set(r.json()) == {"message"} and r.json()["message"]
    if message:
        assert r.json()["message"] == message
    assert sandbox.invoices_created() == []


def test_business_customer_with_tax_id_is_invoiced(sandbox: Sandbox) -> None:
    order = _order(customer={"email": "a@b.cl", "fullname": "Ana", "tax_id": "76.123.456-7",
                             "company_name": "Acme SpA"})
    assert _post(sandbox, sandbox.stores[1], order).status_code == 201


def test_posting_twice_issues_two_invoices(sandbox: Sandbox) -> None:
    """Not idempotent, like the real service may be: the app must never retry blindly."""
    store = sandbox.stores[0]
    first = _post(sandbox, store, _order(77), key="same").json()["public_id"]
    second = _post(sandbox, store, _order(77), key="same").json()["public_id"]
    assert first != second
    records = sandbox.invoices_created(store.login)
    assert [(r["order_id"], r["public_id"], r["idempotency_key"]) for r in records] == [
        (77, first, "same"), (77, second, "same")]


def test_canceling_an_invoiced_order_issues_a_credit_note(sandbox: Sandbox) -> None:
    store = sandbox.stores[0]
    never = _post(sandbox, store, _order(555, status="canceled"))
    assert never.status_code == 422
    assert _post(sandbox, store, _order(555)).status_code == 201
    note = _post(sandbox, store, _order(555, status="canceled"))
    assert note.status_code == 201
    assert note.json()["public_id"].startswith(("CN-", "NC-"))
    assert [r["kind"] for r in sandbox.invoices_created(store.login)] == ["invoice", "credit_note"]
    # Orders invoiced before the sandbox started count too.
    docs = sandbox.truth_documents(store.login)
    earlier = next(oid for oid, ds in docs.items() if [d["document_type"] for d in ds] == [1])
    assert _post(sandbox, store, _order(earlier, status="canceled")).status_code == 201


def test_stores_without_a_hooks_token_take_unsigned_requests() -> None:
    with Sandbox(seed=2, orders=10, invoices=5, stores=5) as sb:
        unsigned = next(s for s in sb.stores if s.hooks_token is None)
        assert _post(sb, unsigned, _order(), sign=False).status_code == 201


def test_the_invoice_page_shows_gift_cards_at_zero_vat(sandbox: Sandbox) -> None:
    order = _order(products=[
        {"name": "Gift Card $25", "price": 25.0, "quantity": 1, "sku": "GIFT-25", "type": "gift_card"},
        {"name": "Mug", "price": 12.0, "quantity": 2, "sku": "MUG", "type": "physical"}],
        gift_cards_amount=10.0)
    body = _post(sandbox, sandbox.stores[0], order).json()
    page = httpx.get(body["url"], timeout=10).text
    assert "<td>0%</td>" in page and "Gift card redeemed: 10" in page
    missing = httpx.get(f"{sandbox.base_url}/invoicing/documents/INV-none-1", timeout=10)
    assert missing.status_code == 404
