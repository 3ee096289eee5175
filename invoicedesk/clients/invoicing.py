"""The store's invoicing endpoint (Jumpseller's "Lightweight Integration" contract).

We play Jumpseller's part: POST the order, in the contract's own shape, signed the way
Jumpseller signs it, and read back ``{"url", "public_id", "message"}``. The contract is not
the REST order: ``quantity`` not ``qty``, ``customer.tax_id`` from
``billing_address.taxid``, ``billing_address.zip`` from ``postal``, a lowercase status and an
ISO ``created_at``. Nothing says the endpoint is idempotent, so a request is sent once: a lost
answer raises ``OutcomeUnknownError`` (an ``Idempotency-Key`` lets a careful service dedupe).

Numbers: money is ``Decimal`` inside InvoiceDesk and leaves as JSON numbers built from the
decimal's string (``float(str(d))``): JSON has no decimal type and the service expects numbers.
For amounts of at most 15 digits (the parsers' bound, see ``money``) the float's shortest
repr, which ``json`` writes, is exactly the decimal's digits, so nothing is lost or rounded.
Whole amounts leave as JSON integers, at most 2**53 (what a reader holding numbers as
doubles keeps exactly). Anything that would not come back unchanged (a hand-built record,
a future parser without the bound) raises ``AmountNotExactError`` before a byte is sent:
an invoice must carry the amounts the order has, never a silently rounded one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal

import httpx

from invoicedesk.domain import Order
from invoicedesk.errors import ConfigError, MalformedResponseError, RejectedError
from invoicedesk.money import AmountNotExactError
from invoicedesk.transport import RequestPolicy, RetryConfig, check_url

__all__ = ["InvoiceResult", "InvoicingClient", "contract_payload", "idempotency_key", "sign"]

SERVICE: Final = "Invoicing"
CREDIT_NOTE_NOT_CONFIGURED: Final = (
    "Account '{account}' has no credit-note endpoint: set a credit note URL in the Accounts dialog "
    "(credit_note_url) before issuing credit notes. Nothing was sent."
)
Kind = Literal["invoice", "credit_note"]

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


_EXACT_INTEGERS = 2**53  # every whole number up to this is exact in a double


def _number(value: Decimal | int | None) -> float | int | None:
    """A JSON number from a Decimal, exactly, or :class:`AmountNotExactError` (see the module doc)."""
    if value is None or isinstance(value, bool):
        return None
    amount = Decimal(value) if isinstance(value, int) else value
    if not amount.is_finite():
        raise AmountNotExactError(f"The amount {amount} is not a number; nothing was sent.")
    exponent = amount.as_tuple().exponent
    number: float | int
    if isinstance(exponent, int) and exponent >= 0:
        number = int(amount)  # written without decimals (CLP): stays an integer
        exact = abs(number) <= _EXACT_INTEGERS
    else:
        number = float(str(amount))
        exact = Decimal(repr(number)) == amount
    if not exact:
        raise AmountNotExactError(
            f"The amount {amount} cannot be sent to the invoicing service exactly (as a JSON "
            "number it would be rounded); nothing was sent."
        )
    return number


def _text(value: str) -> str | None:
    """Optional text: the contract's null for what the store left empty."""
    value = value.strip()
    return value or None


def _iso(value: datetime | None, raw: object) -> str | None:
    """ISO 8601 UTC (``2024-11-05T11:26:30Z``); the store's own text if it could not be read."""
    if value is not None:
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return raw if isinstance(raw, str) and raw.strip() else None


def contract_payload(order: Order) -> dict[str, Any]:
    """The ``{"order": {...}}`` body the Lightweight contract expects for ``order``.

    Built from the parsed order (money as Decimal, canonical status, tax id from
    ``billing_address.taxid``) and ``order.raw`` for what parsing could not read. Gift-card
    lines carry a 0 % rate, as the integration guide requires.
    """
    raw = order.raw.get("order", order.raw) if isinstance(order.raw, Mapping) else {}
    raw = raw if isinstance(raw, Mapping) else {}
    customer = order.customer
    billing = order.billing_address
    products = [
        {
            "name": line.name,
            "price": _number(line.price),
            "quantity": line.qty,
            "sku": _text(line.sku),
            "type": _text(line.type),
            "tax_rate": 0 if line.is_gift_card else (_number(line.tax_rate) or 0),
        }
        for line in order.lines
    ]
    return {
        "order": {
            "id": order.id,
            "created_at": _iso(order.created_at, raw.get("created_at")),
            "currency": _text(order.currency),
            "subtotal": _number(order.subtotal),
            "total": _number(order.total) if order.total_known else None,
            "tax": _number(order.tax),
            "shipping": _number(order.shipping),
            "discount": _number(order.discount),
            "status": order.status.lower(),
            "customer": {
                "email": _text(customer.email),
                "fullname": _text(customer.fullname or billing.fullname),
                "tax_id": _text(customer.tax_id),
                "phone": _text(customer.phone),
                "company_name": _text(customer.company_name),
            },
            "products": products,
            "billing_address": {
                "name": _text(billing.name),
                "surname": _text(billing.surname),
                "address": _text(billing.address),
                "city": _text(billing.city),
                "region": _text(billing.region),
                "country": _text(billing.country_code or billing.country),
                "zip": _text(billing.postal),
                "municipality": _text(billing.municipality),
            },
            "gift_cards_amount": _number(order.gift_cards_amount),
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
        credit_note_url: str = "",
        store_code: str,
        hooks_token: str | None,
        retry: RetryConfig | None = None,
    ) -> None:
        self.account = account
        self.endpoint_url = check_url(endpoint_url)
        self.credit_note_url = check_url(credit_note_url) if credit_note_url else ""
        self.store_code = store_code
        self._hooks_token = hooks_token
        self.policy = RequestPolicy(
            http,
            service=SERVICE,
            account=account,
            retry=retry,
            secrets=(hooks_token,),
            auth_message=(
                "the invoicing service did not accept the signature "
                "(wrong hooks token or store code)"
            ),
        )

    def __repr__(self) -> str:
        return f"InvoicingClient(account={self.account!r}, endpoint_url={self.endpoint_url!r})"

    async def create_invoice(self, order: Order) -> InvoiceResult:
        """Ask the service for the order's invoice. Sent once; see the module doc."""
        return await self._post(order, "invoice")

    async def create_credit_note(self, order: Order) -> InvoiceResult:
        """Ask the account's credit-note endpoint for a credit note for a canceled order.

        The Lightweight contract defines one operation, create an invoice; an endpoint that
        ignores ``status`` would answer a canceled order with a second invoice. So a credit note
        is only asked of the endpoint the configuration names for it (``credit_note_url``, which
        may be the invoicing endpoint when that service handles canceled orders); without one,
        nothing is sent. The order always goes with its canceled status.
        """
        if not self.credit_note_url:
            raise ConfigError(CREDIT_NOTE_NOT_CONFIGURED.format(account=self.account))
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
        url = self.credit_note_url if kind == "credit_note" else self.endpoint_url
        answer = await self.policy.request("POST", url, content=body, headers=headers)
        return self._result(answer, url)

    def _result(self, answer: Any, address: str) -> InvoiceResult:
        endpoint = httpx.URL(address).path

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
        message = answer.get("message")
        if public_id in (None, "") and url in (None, "") and isinstance(message, str) and message.strip():
            # The guide's error shape ({"message": ...}) with a 2xx status: a refusal in the
            # service's words, not a success and not a lost answer.
            raise RejectedError([message.strip()], service=SERVICE, account=self.account, endpoint=endpoint)
        if isinstance(public_id, int) and not isinstance(public_id, bool):
            public_id = str(public_id)
        if not isinstance(public_id, str) or not public_id.strip():
            raise bad("the service's answer has no public_id.")
        if not isinstance(url, str) or not _is_web_url(url):
            raise bad("the service's answer has no valid url.")
        return InvoiceResult(
            public_id=public_id, url=url, message=message if isinstance(message, str) else ""
        )


def _is_web_url(text: str) -> bool:
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, TypeError):
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)
