"""The invoicing endpoint of Jumpseller's "Lightweight Integration" contract.

``POST /invoicing/invoices`` takes ``{"order": {...}}`` in the contract's shape (``quantity``,
``customer.tax_id``, ``billing_address.zip``, lowercase ``status``, ISO ``created_at``) and
answers ``{"url", "public_id", "message"}``. ``POST /invoicing/credit-notes`` (signed the same
way, same body) issues a credit note for an order this service invoiced, whatever its status:
the contract defines no credit note, so this is the separate route an account may configure.
Like the real thing as far as anyone knows, it is NOT idempotent: every accepted POST issues a
new document, and every one is recorded (with the ``Idempotency-Key`` header it came with) so
double invoicing shows up in tests.

Rules, each refused with 422 ``{"message": ...}``:
- ``status`` must be ``paid`` (issues an invoice) or ``canceled`` (issues a credit note, only
  for an order this service invoiced before); anything else, including a translated "Paid", is
  refused.
- at least one product, each with ``name``, numeric ``price`` and integer ``quantity``.
- a business customer needs ``customer.tax_id``. "Business" means a company name in any of
  ``billing_address.company``/``company_name``, ``customer.company``/``company_name`` or
  ``order.billing_information.company_name``.

The service does not attach the document to the Jumpseller order: the caller does that through
the documents endpoint, as the integration guide describes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .clock import contract_date
from .ledger import Issued
from .orders import CREDIT_NOTE, INVOICE, JumpsellerStore

if TYPE_CHECKING:
    from .state import SandboxState


# ---- validation ---------------------------------------------------------------------------------


class RefusedError(Exception):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _company(order: dict[str, Any]) -> str | None:
    places: list[Any] = [order.get("billing_address"), order.get("customer"),
                         order.get("billing_information")]
    for place in places:
        if isinstance(place, dict):
            for key in ("company", "company_name"):
                value = place.get(key)
                if isinstance(value, str) and value.strip():
                    return value
    return None


def order_of(body: Any) -> tuple[dict[str, Any], int]:
    """The ``{"order": ...}`` body's order and its id; raises RefusedError."""
    if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
        raise RefusedError('The request body must be {"order": {...}}')
    order: dict[str, Any] = body["order"]
    oid = order.get("id")
    if not isinstance(oid, int) or isinstance(oid, bool) or oid <= 0:
        raise RefusedError("Order id is required and must be a positive integer")
    return order, oid


def check_order(body: Any, *, ignore_status: bool = False) -> tuple[dict[str, Any], int, str]:
    """The order, its id and the document kind to issue; raises RefusedError with the reason.

    ``ignore_status`` (shape ``invoicing_ignores_status``): every order is invoiced as if paid,
    so a canceled order gets a second INVOICE, as an endpoint that only knows the contract's
    one operation would do."""
    order, oid = order_of(body)
    status = order.get("status")
    if status == "canceled" and not ignore_status:
        return order, oid, CREDIT_NOTE
    if status != "paid" and not ignore_status:
        raise RefusedError(f"Only paid orders can be invoiced (order {oid} has status {status!r})")
    products = order.get("products")
    if not isinstance(products, list) or not products:
        raise RefusedError(f"Order {oid} has no products to invoice")
    for n, p in enumerate(products, 1):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"].strip():
            raise RefusedError(f"Product {n} has no name")
        if not _is_number(p.get("price")):
            raise RefusedError(f"Product {n} ({p['name']}) has no numeric price")
        qty = p.get("quantity")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
            raise RefusedError(f"Product {n} ({p['name']}) needs an integer quantity of at least 1")
    if not _is_number(order.get("total")):
        raise RefusedError(f"Order {oid} has no numeric total")
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    tax_id = customer.get("tax_id") if isinstance(customer, dict) else None
    if _company(order) and not (isinstance(tax_id, str) and tax_id.strip()):
        raise RefusedError("Customer tax ID is required for invoice generation")
    return order, oid, INVOICE


def _verify(store: JumpsellerStore, raw: bytes, signature: str | None) -> bool:
    token = store.account.hooks_token
    if token is None:
        return True
    if not signature:
        return False
    expected = base64.b64encode(hmac.new(token.encode(), raw, hashlib.sha256).digest())
    try:
        given = signature.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(given, expected)


# ---- the HTML page ------------------------------------------------------------------------------


def _money(v: Any) -> Decimal:
    try:
        return Decimal(str(v))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _contract_view(store: JumpsellerStore, order_id: int) -> dict[str, Any]:
    """An order invoiced before the sandbox started, seen in the contract's shape."""
    rec = store.by_id.get(order_id)
    if rec is None:
        return {"id": order_id, "products": []}
    o = store.payload(rec)["order"]
    billing = o.get("billing_address") or {}
    return {
        "id": o["id"], "created_at": contract_date(rec.created), "currency": o["currency"],
        "subtotal": o["subtotal"], "total": o["total"], "status": o["status_enum"],
        "customer": {"email": o["customer"]["email"], "fullname": o["customer"]["fullname"],
                     "tax_id": billing.get("taxid")},
        "products": [{"name": p["name"], "price": p["price"], "quantity": p["qty"],
                      "sku": p["sku"], "type": p.get("type")} for p in o["products"]],
        "billing_address": {"country": billing.get("country_code"), "zip": billing.get("postal")},
        "gift_cards_amount": o.get("gift_cards_discount", 0),
    }


def render_page(doc: Issued, store: JumpsellerStore) -> str:
    order = doc.order if doc.order is not None else _contract_view(store, doc.order_id)
    esc = html.escape
    title = "Credit note" if doc.kind == CREDIT_NOTE else "Invoice"
    currency = str(order.get("currency") or store.currency)
    rate = store.rate
    rows = []
    for p in order.get("products") or []:
        if not isinstance(p, dict):
            continue
        gift = p.get("type") == "gift_card"
        vat = Decimal(0) if gift else rate * 100
        line = _money(p.get("price")) * int(p.get("quantity") or 0)
        rows.append(
            f"<tr><td>{esc(str(p.get('sku') or ''))}</td><td>{esc(str(p.get('name')))}</td>"
            f"<td>{esc(str(p.get('quantity')))}</td><td>{esc(str(p.get('price')))}</td>"
            f"<td>{vat.normalize()}%</td><td>{line}</td></tr>")
    customer: dict[str, Any] = order["customer"] if isinstance(order.get("customer"), dict) else {}
    gift_amount = _money(order.get("gift_cards_amount", order.get("gift_cards_discount", 0)))
    gift_note = (f"<p class='gift'>Gift card redeemed: {gift_amount} {esc(currency)}</p>"
                 if gift_amount > 0 else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} {esc(doc.public_id)}</title></head>
<body>
<h1>{title} {esc(doc.public_id)}</h1>
<p>Store: {esc(doc.login)} &middot; Order {doc.order_id}
{f"&middot; Issued {esc(doc.at)}" if doc.at else ""}</p>
<p>Customer: {esc(str(customer.get("fullname") or ""))} &lt;{esc(str(customer.get("email") or ""))}&gt;
&middot; Tax ID: {esc(str(customer.get("tax_id") or "none"))}</p>
<table border="1"><thead><tr><th>SKU</th><th>Item</th><th>Qty</th><th>Price</th><th>VAT</th>
<th>Line total</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
{gift_note}
<p>Total: {esc(str(order.get("total")))} {esc(currency)}</p>
</body></html>
"""


# ---- routes -------------------------------------------------------------------------------------


def routes(state: SandboxState) -> list[Route]:
    def refusal(refused: RefusedError) -> Response:
        """422, or (shape ``invoicing_refuses_2xx``) 200 with only the message."""
        status = 200 if state.on("invoicing_refuses_2xx") else refused.status
        return JSONResponse({"message": refused.message}, status)

    async def create(request: Request) -> Response:
        return await issue(request, credit_note_route=False)

    async def credit_note(request: Request) -> Response:
        return await issue(request, credit_note_route=True)

    async def issue(request: Request, *, credit_note_route: bool) -> Response:
        raw = await request.body()
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return JSONResponse({"message": "Content-Type must be application/json"}, 415)
        code = request.headers.get("jumpseller-store-code", "").strip()
        store = state.stores.get(code)
        if store is None:
            return JSONResponse({"message": "Unknown or missing Jumpseller-Store-Code"}, 401)
        if not _verify(store, raw, request.headers.get("jumpseller-hmac-sha256")):
            return JSONResponse({"message": "Invalid signature"}, 401)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return JSONResponse({"message": f"Malformed JSON: {exc}"}, 400)
        try:
            if credit_note_route:
                order, oid = order_of(body)
                kind = CREDIT_NOTE
            else:
                order, oid, kind = check_order(body, ignore_status=state.on("invoicing_ignores_status"))
            with state.lock:
                if kind == CREDIT_NOTE and not state.ledger.invoiced_before(store.login, oid):
                    raise RefusedError(f"Order {oid} was never invoiced; there is nothing to credit")
                record = state.ledger.issue(
                    store, oid, kind, order, at=state.clock.now().isoformat(),
                    idempotency_key=request.headers.get("idempotency-key"),
                    base_url=state.base_url)
        except RefusedError as refused:
            return refusal(refused)
        what = "Credit note" if kind == CREDIT_NOTE else "Invoice"
        return JSONResponse({"url": record["url"], "public_id": record["public_id"],
                             "message": f"{what} {record['public_id']} created"}, 201)

    async def page(request: Request) -> Response:
        public_id = request.path_params["public_id"]
        with state.lock:
            doc = state.ledger.issued.get(public_id)
            if doc is None:
                return HTMLResponse("<!DOCTYPE html><html><body><h1>Document not found</h1>"
                                    "</body></html>", 404)
            text = render_page(doc, state.stores[doc.login])
        return HTMLResponse(text)

    return [
        Route("/invoices", create, methods=["POST"]),
        Route("/credit-notes", credit_note, methods=["POST"]),
        Route("/documents/{public_id}", page, methods=["GET"]),
    ]
