"""Invoices and credit notes from the store's invoicing endpoint, signed as Jumpseller signs.

The contract mapping is checked against the integration guide's own example; everything else
talks HTTP: to the sandbox's invoicing service, and to a tiny recorder below for the exact
bytes, headers and odd answers the sandbox never gives.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn

from invoicedesk.clients.invoicing import (
    InvoiceResult,
    InvoicingClient,
    contract_payload,
    idempotency_key,
)
from invoicedesk.domain import Order, parse_order
from invoicedesk.errors import (
    AuthError,
    MalformedResponseError,
    OutcomeUnknownError,
    RejectedError,
)
from invoicedesk.transport import RetryConfig, make_http_client
from tests.core_helpers import wait_until
from tests.fixtures import FIXTURES

T = TypeVar("T")
REFERENCE = FIXTURES / "jumpseller"
FAST = RetryConfig(base_delay=0.01, max_delay=0.05, total_time=20.0)
TAX_ID_REQUIRED = "Customer tax ID is required for invoice generation"


def with_client(
    url: str,
    use: Callable[[InvoicingClient], Awaitable[T]],
    *,
    store_code: str,
    hooks_token: str | None,
    read_timeout: float = 10.0,
    credit_note_url: str = "",
) -> Callable[[], Awaitable[T]]:
    async def run() -> T:
        timeout = httpx.Timeout(read_timeout, connect=2.0)
        async with make_http_client(timeout=timeout) as http:
            client = InvoicingClient(
                http,
                account=store_code,
                endpoint_url=url,
                credit_note_url=credit_note_url,
                store_code=store_code,
                hooks_token=hooks_token,
                retry=FAST,
            )
            return await use(client)

    return run


def sandbox_client(sb: Any, use: Callable[[InvoicingClient], Awaitable[T]], *,
                   hooks_token: str | None = None, read_timeout: float = 10.0
                   ) -> Callable[[], Awaitable[T]]:
    store = sb.stores[0]
    return with_client(
        sb.invoicing_url,
        use,
        store_code=store.login,
        hooks_token=hooks_token if hooks_token is not None else store.hooks_token,
        read_timeout=read_timeout,
        credit_note_url=sb.credit_note_url,
    )


def pick(sb: Any, *, business: bool | None = None, tax_id: bool | None = None,
         status: str = "paid", skip: int = 0) -> Order:
    """A sandbox order (parsed) with the wanted features and no document yet."""
    login = sb.stores[0].login
    documents = sb.truth_documents(login)
    found = []
    for body in sb.truth_orders(login):
        order = parse_order(body, account=login)
        if order.status != status or documents.get(order.id):
            continue
        if business is not None and order.is_business != business:
            continue
        if tax_id is not None and bool(order.customer.tax_id) != tax_id:
            continue
        found.append(order)
    return found[skip]


# -- the contract's shape ------------------------------------------------------------------------


def _subset(expected: Any, actual: Any, path: str = "order") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing"
            _subset(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _subset(e, a, f"{path}[{i}]")
    else:
        assert actual == expected and type(actual) is type(expected), f"{path}: {actual!r}"


def test_mapping_matches_the_guides_example() -> None:
    contract = json.loads((REFERENCE / "lightweight-invoicing-contract.json").read_text())
    expected = contract["request_POST_to_merchant_endpoint"]
    # The same order as the REST API returns it: qty, billing_address.taxid/postal, a
    # translated status beside status_enum, Jumpseller's date format.
    rest = {
        "order": {
            "id": 1020,
            "created_at": "2024-11-05 11:26:30 UTC",
            "status": "Paid",
            "status_enum": "paid",
            "currency": "USD",
            "subtotal": 10.0,
            "total": 10.0,
            "customer": {"id": 7, "email": "customer@example.com", "fullname": "John Smith"},
            "billing_address": {
                "taxid": "US123456789",
                "country": "United States",
                "country_code": "US",
                "postal": "10001",
            },
            "products": [{"name": "Premium T-Shirt", "price": 10.0, "qty": 1, "sku": "TSHIRT-01"}],
        }
    }
    payload = contract_payload(parse_order(rest, account="demo-store"))
    _subset(expected, payload)
    assert "qty" not in payload["order"]["products"][0]
    assert "postal" not in payload["order"]["billing_address"]
    json.dumps(payload)  # JSON all the way down: no Decimal or datetime left


def test_mapping_of_the_rest_reference_order() -> None:
    body = json.loads((REFERENCE / "order-1026-docs-example.json").read_text())
    order = parse_order(body, account="demo-store")
    o = contract_payload(order)["order"]
    assert o["id"] == 1026
    assert o["created_at"] == "2023-02-10T13:56:35Z"
    assert o["status"] == "pending_payment"  # from the translated "Pending Payment"
    assert (o["subtotal"], o["total"], o["discount"], o["shipping"]) == (399.0, 369.2, 79.8, 50.0)
    assert o["products"] == [
        {"name": "Black", "price": 399.0, "quantity": 1, "sku": "black", "type": None,
         "tax_rate": 0}
    ]
    assert o["billing_address"]["zip"] == "5771" and o["billing_address"]["country"] == "GB"
    assert o["customer"]["tax_id"] is None and o["customer"]["email"] == "test@gmail.com"
    assert json.dumps(o["total"]) == "369.2"


def test_gift_cards_carry_no_vat_and_the_redeemed_amount_travels(sandbox_session) -> None:
    sb = sandbox_session
    login = sb.stores[0].login
    orders = [parse_order(b, account=login) for b in sb.truth_orders(login)]
    gift_line = next(o for o in orders if o.has_gift_card_products)
    redeemed = next(o for o in orders if o.has_gift_cards)
    lines = contract_payload(gift_line)["order"]["products"]
    assert [p["tax_rate"] for p in lines if p["type"] == "gift_card"] == [0] * sum(
        1 for p in lines if p["type"] == "gift_card"
    )
    assert any(p["tax_rate"] > 0 for o in orders for p in contract_payload(o)["order"]["products"])
    assert contract_payload(redeemed)["order"]["gift_cards_amount"] == float(
        redeemed.gift_cards_amount
    ) > 0


# -- the sandbox's invoicing service --------------------------------------------------------------


def test_staff_invoices_a_paid_order(sandbox, arun) -> None:
    sb = sandbox
    login = sb.stores[0].login
    order = pick(sb, business=True, tax_id=True)
    result = arun(sandbox_client(sb, lambda c: c.create_invoice(order))())
    assert isinstance(result, InvoiceResult)
    assert result.public_id and result.url.startswith("http") and result.message
    made = sb.invoices_created(login)
    assert [(m["order_id"], m["kind"], m["public_id"]) for m in made] == [
        (order.id, "invoice", result.public_id)
    ]
    assert made[0]["idempotency_key"] == idempotency_key(login, order.id, "invoice")
    assert made[0]["order"]["customer"]["tax_id"] == order.customer.tax_id


def test_a_business_without_tax_id_is_refused_with_the_services_words(sandbox, arun) -> None:
    sb = sandbox
    order = pick(sb, business=True, tax_id=False)
    with pytest.raises(RejectedError) as info:
        arun(sandbox_client(sb, lambda c: c.create_invoice(order))())
    assert info.value.messages == [TAX_ID_REQUIRED]
    assert str(info.value).endswith(TAX_ID_REQUIRED)
    assert sb.invoices_created() == []


def test_a_wrong_hooks_token_is_an_auth_error(sandbox, arun) -> None:
    sb = sandbox
    order = pick(sb, business=False)
    wrong = "0123456789abcdef0123456789abcdef"
    with pytest.raises(AuthError) as info:
        arun(sandbox_client(sb, lambda c: c.create_invoice(order), hooks_token=wrong)())
    assert f"account '{sb.stores[0].login}'" in str(info.value)
    assert wrong not in str(info.value) and sb.stores[0].hooks_token not in str(info.value)
    assert sb.invoices_created() == []


def test_credit_note_after_cancellation(sandbox, arun) -> None:
    sb = sandbox
    order = pick(sb, business=False)
    never = pick(sb, business=False, skip=1)

    async def use(c: InvoicingClient) -> tuple[InvoiceResult, InvoiceResult]:
        invoice = await c.create_invoice(order)
        with pytest.raises(RejectedError) as info:
            await c.create_credit_note(never)
        assert info.value.messages == [
            f"Order {never.id} was never invoiced; there is nothing to credit"
        ]
        return invoice, await c.create_credit_note(order)

    invoice, credit = arun(sandbox_client(sb, use)())
    assert credit.public_id != invoice.public_id
    kinds = [(m["kind"], m["order"]["status"]) for m in sb.invoices_created()]
    assert kinds == [("invoice", "paid"), ("credit_note", "canceled")]


@pytest.mark.parametrize(
    ("kind", "error", "made"),
    [
        ("slow", OutcomeUnknownError, 1),
        ("drop", OutcomeUnknownError, 1),
        ("truncate", MalformedResponseError, 1),
        ("500", OutcomeUnknownError, 0),
        ("html", OutcomeUnknownError, 0),
        ("503", None, 1),
        ("429", None, 1),
    ],
)
def test_every_fault_ends_in_one_invoice_or_a_clear_error(
    sandbox, arun, kind: str, error: type[Exception] | None, made: int
) -> None:
    sb = sandbox
    order = pick(sb, business=False)

    async def use(c: InvoicingClient) -> InvoiceResult:
        sb.inject("invoicing", kind, count=1, delay=1.0)
        return await c.create_invoice(order)

    if error is None:
        assert arun(sandbox_client(sb, use, read_timeout=0.4)()).public_id
    else:
        with pytest.raises(error, match="check before trying again"):
            arun(sandbox_client(sb, use, read_timeout=0.4)())
    assert len(sb.invoices_created()) == made


# -- exact bytes and odd answers, against a recorder ---------------------------------------------


class Recorder:
    """Records each POST (raw body and headers) and answers with ``self.answer``."""

    def __init__(self) -> None:
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        self.answer: tuple[int, bytes] = (201, b"{}")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.requests.append((body, {k.decode(): v.decode() for k, v in scope["headers"]}))
        status, payload = self.answer
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[Recorder, str]]:
    app = Recorder()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical",
                                       lifespan="off"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    assert wait_until(lambda: uv.started, timeout=10), "the recording server did not start"
    port = uv.servers[0].sockets[0].getsockname()[1]
    yield app, f"http://127.0.0.1:{port}/invoices"
    uv.should_exit = True
    thread.join(timeout=10)


DEMO = parse_order(
    json.loads((REFERENCE / "order-1026-docs-example.json").read_text()), account="demo-store"
)


def test_the_signature_covers_the_exact_bytes_sent(recorder, arun) -> None:
    app, url = recorder
    app.requests.clear()
    app.answer = (201, b'{"url": "https://inv.example/INV-1", "public_id": "INV-1"}')
    token = "hooks-token-for-tests"
    result = arun(with_client(url, lambda c: c.create_invoice(DEMO), store_code="demo-store",
                              hooks_token=token)())
    assert result == InvoiceResult(public_id="INV-1", url="https://inv.example/INV-1", message="")
    body, headers = app.requests[0]
    # The guide's own Python check:
    digest = hmac.new(token.encode(), body, hashlib.sha256).digest()
    assert headers["jumpseller-hmac-sha256"] == base64.b64encode(digest).decode()
    assert headers["jumpseller-store-code"] == "demo-store"
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == idempotency_key("demo-store", 1026, "invoice")
    assert json.loads(body) == contract_payload(DEMO)
    assert token not in body.decode() and token not in json.dumps(headers).replace(
        headers["jumpseller-hmac-sha256"], "")


def test_unsigned_when_the_store_has_no_hooks_token(recorder, arun) -> None:
    app, url = recorder
    app.requests.clear()
    app.answer = (201, b'{"url": "https://inv.example/INV-2", "public_id": "INV-2"}')
    arun(with_client(url, lambda c: c.create_invoice(DEMO), store_code="s", hooks_token=None)())
    assert "jumpseller-hmac-sha256" not in app.requests[0][1]


@pytest.mark.parametrize(
    "answer",
    [
        b'{"url": "https://inv.example/x"}',
        b'{"url": "https://inv.example/x", "public_id": "  "}',
        b'{"url": "javascript:alert(1)", "public_id": "INV-3"}',
        b'{"public_id": "INV-3"}',
        b'["INV-3"]',
    ],
)
def test_an_answer_without_url_or_public_id_is_malformed(recorder, arun, answer: bytes) -> None:
    app, url = recorder
    app.requests.clear()
    app.answer = (201, answer)
    with pytest.raises(MalformedResponseError, match="may have been created"):
        arun(with_client(url, lambda c: c.create_invoice(DEMO), store_code="s",
                         hooks_token="t0k3n-abc")())
    assert len(app.requests) == 1


def test_a_refusal_keeps_the_message_exactly(recorder, arun) -> None:
    app, url = recorder
    app.answer = (422, json.dumps({"message": TAX_ID_REQUIRED}).encode())
    with pytest.raises(RejectedError) as info:
        arun(with_client(url, lambda c: c.create_invoice(DEMO), store_code="s",
                         hooks_token="t0k3n-abc")())
    assert info.value.messages == [TAX_ID_REQUIRED] and info.value.status == 422
