"""The store's invoicing endpoint (Jumpseller's "Lightweight Integration" contract).

We play Jumpseller's part: POST the order, in the contract's own shape, signed the way
Jumpseller signs it, and read back ``{"url", "public_id", "message"}``. The contract is not
the REST order (docs/API-FACTS.md §2): ``quantity`` not ``qty``, ``customer.tax_id`` from
``billing_address.taxid``, ``billing_address.zip`` from ``postal``, a lowercase status and an
ISO ``created_at``. Nothing says the endpoint is idempotent, so a request is sent once: a lost
answer raises ``OutcomeUnknownError`` (an ``Idempotency-Key`` lets a careful service dedupe).

Numbers: money is ``Decimal`` inside InvoiceDesk and leaves as JSON numbers built from the
decimal's string (``float(str(d))``): JSON has no decimal type and the service expects numbers.
For amounts with at most 15 significant digits (every real price) the float's shortest repr,
which ``json`` writes, is exactly the decimal's digits, so nothing is lost or rounded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

import httpx

from invoicedesk.domain import Order
from invoicedesk.errors import MalformedResponseError
from invoicedesk.transport import RequestPolicy, RetryConfig, check_url

__all__ = ["InvoiceResult", "InvoicingClient", "contract_payload", "idempotency_key", "sign"]

SERVICE: Final = "Invoicing"
Kind = Literal["invoice", "credit_note"]

_STATUSES: Final = ("pending_payment", "paid", "canceled", "abandoned")
_STATUS_WORDS: Final = {
    "pending payment": "pending_payment",
    "pending_payment": "pending_payment",
    "paid": "paid",
    "canceled": "canceled",
    "cancelled": "canceled",
    "abandoned": "abandoned",
}


@dataclass(frozen=True)
class InvoiceResult:
    """What the invoicing service made: its reference, where to view it, and its message."""

    public_id: str
    url: str
    message: str = ""


def sign(body: bytes, hooks_token: str) -> str:
    """``base64(HMAC-SHA256(hooks_token, body))``, as Jumpseller signs its requests."""
    digest = hmac.new(hooks_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def idempotency_key(store_code: str, order_id: object, kind: Kind) -> str:
    """The same key for the same (store, order, document kind), so a retry can be spotted."""
    return hashlib.sha256(f"{store_code}\x1f{order_id}\x1f{kind}".encode()).hexdigest()


# -- mapping the REST order to the contract ----------------------------------------------------


def _inner(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = raw.get("order")
    return inner if isinstance(inner, Mapping) else raw


def _number(value: object) -> float | int | None:
    """A JSON number from a Decimal, float, int or numeric string, exactly (see module doc)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        exact = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not exact.is_finite():
        return None
    return float(str(exact))


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _iso(value: object) -> str | None:
    """ISO 8601 UTC (``2024-11-05T11:26:30Z``) from a datetime or Jumpseller's date strings."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(" UTC"):
            text = text[:-4] + "+00:00"
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return value  # not ours to fix: the service sees what the store holds
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    else:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(order: Order, raw: Mapping[str, Any]) -> str | None:
    """The canonical lowercase status: ``status_enum`` first (``status`` is translated)."""
    for candidate in (raw.get("status_enum"), getattr(order, "status", None), raw.get("status")):
        if isinstance(candidate, str):
            word = _STATUS_WORDS.get(candidate.strip().lower())
            if word:
                return word
        value = getattr(candidate, "value", None)  # a str Enum
        if isinstance(value, str) and value in _STATUSES:
            return value
    status = raw.get("status")
    return str(status).strip().lower().replace(" ", "_") if status else None


def _tax_rate(product: Mapping[str, Any]) -> float | int:
    """Percent VAT of a line: gift cards carry none; else the sum of proportional taxes."""
    if product.get("type") == "gift_card":
        return 0
    total = Decimal(0)
    taxes = product.get("taxes")
    if isinstance(taxes, list):
        for tax in taxes:
            if isinstance(tax, Mapping) and not tax.get("fixed"):
                try:
                    total += Decimal(str(tax.get("rate") or 0))
                except InvalidOperation:
                    continue
    result = _number(total)
    return 0 if result is None else result


def contract_payload(order: Order) -> dict[str, Any]:
    """The ``{"order": {...}}`` body the Lightweight contract expects for ``order``.

    Built from ``order.raw`` (what the store sent) with the parsed id, date and status.
    """
    raw = _inner(order.raw)
    customer = raw.get("customer") if isinstance(raw.get("customer"), Mapping) else {}
    billing = raw.get("billing_address") if isinstance(raw.get("billing_address"), Mapping) else {}
    info = raw.get("billing_information")
    info = info if isinstance(info, Mapping) else {}
    assert isinstance(customer, Mapping) and isinstance(billing, Mapping)

    fullname = _text(customer.get("fullname")) or _text(
        " ".join(p for p in (_text(billing.get("name")), _text(billing.get("surname"))) if p)
    )
    gift_cards = raw.get("gift_cards_amount", raw.get("gift_cards_discount"))
    products = []
    for product in raw.get("products") or []:
        if not isinstance(product, Mapping):
            continue
        products.append(
            {
                "name": _text(product.get("name")),
                "price": _number(product.get("price")),
                "quantity": product.get("qty", product.get("quantity")),
                "sku": _text(product.get("sku")),
                "type": _text(product.get("type")),
                "tax_rate": _tax_rate(product),
            }
        )
    created = getattr(order, "created_at", None) or raw.get("created_at")
    return {
        "order": {
            "id": order.id,
            "created_at": _iso(created),
            "currency": _text(raw.get("currency")),
            "subtotal": _number(raw.get("subtotal")),
            "total": _number(raw.get("total")),
            "tax": _number(raw.get("tax")),
            "shipping": _number(raw.get("shipping")),
            "discount": _number(raw.get("discount")),
            "status": _status(order, raw),
            "customer": {
                "email": _text(customer.get("email")),
                "fullname": fullname,
                "tax_id": _text(billing.get("taxid")),
                "phone": _text(customer.get("phone")),
                "company_name": _text(info.get("company_name")),
            },
            "products": products,
            "billing_address": {
                "name": _text(billing.get("name")),
                "surname": _text(billing.get("surname")),
                "address": _text(billing.get("address")),
                "city": _text(billing.get("city")),
                "region": _text(billing.get("region")),
                "country": _text(billing.get("country_code") or billing.get("country")),
                "zip": _text(billing.get("postal")),
                "municipality": _text(billing.get("municipality")),
            },
            "gift_cards_amount": _number(gift_cards) or 0,
        }
    }


# -- the client ------------------------------------------------------------------------------


class InvoicingClient:
    """Creates invoices and credit notes on the store's invoicing endpoint."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        account: str,
        endpoint_url: str,
        store_code: str,
        hooks_token: str | None,
        retry: RetryConfig | None = None,
    ) -> None:
        self.account = account
        self.endpoint_url = check_url(endpoint_url)
        self.store_code = store_code
        self._hooks_token = hooks_token
        self.policy = RequestPolicy(
            http,
            service=SERVICE,
            account=account,
            retry=retry,
            secrets=(hooks_token,),
            auth_message=(
                f"the invoicing service did not accept the signature for account '{account}' "
                "(wrong hooks token or store code)"
            ),
        )

    def __repr__(self) -> str:
        return f"InvoicingClient(account={self.account!r}, endpoint_url={self.endpoint_url!r})"

    async def create_invoice(self, order: Order) -> InvoiceResult:
        """Ask the service for the order's invoice. Sent once; see the module doc."""
        return await self._post(order, "invoice")

    async def create_credit_note(self, order: Order) -> InvoiceResult:
        """Ask for a credit note: the same contract, carrying the order's canceled status."""
        return await self._post(order, "credit_note")

    async def _post(self, order: Order, kind: Kind) -> InvoiceResult:
        payload = contract_payload(order)
        if kind == "credit_note":
            payload["order"]["status"] = "canceled"
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Jumpseller-Store-Code": self.store_code,
            "Idempotency-Key": idempotency_key(self.store_code, order.id, kind),
        }
        if self._hooks_token:
            headers["Jumpseller-Hmac-Sha256"] = sign(body, self._hooks_token)
        answer = await self.policy.request("POST", self.endpoint_url, content=body, headers=headers)
        return self._result(answer)

    def _result(self, answer: Any) -> InvoiceResult:
        endpoint = httpx.URL(self.endpoint_url).path

        def bad(why: str) -> MalformedResponseError:
            return MalformedResponseError(
                f"{why} The document may have been created: check before trying again.",
                service=SERVICE,
                account=self.account,
                endpoint=endpoint,
            )

        if not isinstance(answer, Mapping):
            raise bad("the service's answer is not a JSON object.")
        public_id = answer.get("public_id")
        url = answer.get("url")
        if isinstance(public_id, int) and not isinstance(public_id, bool):
            public_id = str(public_id)
        if not isinstance(public_id, str) or not public_id.strip():
            raise bad("the service's answer has no public_id.")
        if not isinstance(url, str) or not _is_web_url(url):
            raise bad("the service's answer has no valid url.")
        message = answer.get("message")
        return InvoiceResult(
            public_id=public_id, url=url, message=message if isinstance(message, str) else ""
        )


def _is_web_url(text: str) -> bool:
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, TypeError):
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)
