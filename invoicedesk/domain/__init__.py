"""Records InvoiceDesk works with, and the tolerant parsers that build them from payloads.

No Qt here. Every record keeps ``raw`` (the payload exactly as the service sent it) and
``problems`` (one human sentence per field that was unexpected and left at a default), so
staff see a warning on one record instead of a sync that stops at the first odd value.

The parsers raise only :class:`~invoicedesk.errors.MalformedResponseError`, and only when a
payload is not even shaped like what the endpoint promises (a number where an order object
belongs, a JSON:API document without ``data``). Everything smaller becomes a problem.

Two services, two shapes:
- Jumpseller (orders): snake_case JSON, money as floats, translated status texts beside
  ``*_enum`` fields, dates like ``"2023-02-10 13:56:35 UTC"``.
- Marketplacer (invoices): JSON:API documents; related line items, customers and shipments
  sit in ``included`` and are matched by ``(type, id)`` with ids compared as strings (the
  same id arrives as ``1`` and as ``"1"``); money as strings; ISO 8601 dates with offsets.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from invoicedesk.errors import MalformedResponseError
from invoicedesk.money import MAX_QUANTITY, show_value, to_decimal

__all__ = [
    "DELIVERY_LABELS",
    "INVOICE_STATUS_LABELS",
    "ORDER_STATUS_LABELS",
    "SHIPMENT_STATUS_LABELS",
    "Address",
    "Customer",
    "Document",
    "Invoice",
    "InvoiceLine",
    "Order",
    "OrderLine",
    "Shipment",
    "Source",
    "Summary",
    "document_kind",
    "invoice_status",
    "order_status",
    "parse_datetime",
    "parse_documents",
    "parse_invoice",
    "parse_invoice_document",
    "parse_invoice_page",
    "parse_order",
    "parse_orders",
    "parse_shipments",
    "shipment_status",
    "to_datetime",
]

ZERO = Decimal(0)
INVOICE_DOCUMENT = 1
CREDIT_NOTE_DOCUMENT = 0

# ----------------------------------------------------------------------------- records


class Source(StrEnum):
    JUMPSELLER = "jumpseller"
    MARKETPLACER = "marketplacer"


@dataclass(frozen=True, slots=True)
class Customer:
    id: str = ""
    email: str = ""
    phone: str = ""
    fullname: str = ""
    company_name: str = ""
    tax_id: str = ""

    @property
    def display_name(self) -> str:
        """The name staff know the customer by: the person, else the company, else the email."""
        return self.fullname or self.company_name or self.email


@dataclass(frozen=True, slots=True)
class Address:
    name: str = ""
    surname: str = ""
    company: str = ""
    address: str = ""
    street_number: str = ""
    city: str = ""
    postal: str = ""
    region: str = ""
    country: str = ""
    country_code: str = ""
    municipality: str = ""
    phone: str = ""

    @property
    def fullname(self) -> str:
        return " ".join(p for p in (self.name, self.surname) if p)


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One product line of a Jumpseller order; ``price``, ``tax`` are per unit as sent."""

    id: str = ""
    variant_id: str = ""
    sku: str = ""
    name: str = ""
    qty: int = 0
    price: Decimal = ZERO
    tax: Decimal = ZERO
    discount: Decimal = ZERO
    type: str = ""  # "physical", "digital", "gift_card", ...
    tax_rate: Decimal | None = None  # percent (19 for 19 %), from taxes[0].rate when not fixed
    options: tuple[tuple[str, str], ...] = ()  # (name, value) pairs
    tax_included: bool | None = None  # taxes[0].tax_on_product_price, when the store says
    # Amount and quantity fields of this line ("qty", "price", "taxes[0].rate") that were sent
    # but cannot be used: unreadable, or beyond the bounds in ``money``. Their value above is
    # a 0 placeholder, not a reading; ``problems`` on the order says why.
    unusable: tuple[str, ...] = ()

    @property
    def is_gift_card(self) -> bool:
        return self.type.strip().lower() == "gift_card"


@dataclass(frozen=True, slots=True)
class Document:
    """An invoice or credit note attached to a Jumpseller order.

    ``document_type`` is 1 (invoice), 0 (credit note) or -1 when the service wrote a type we
    cannot read; ``type_text`` then keeps what it wrote. An unreadable document still counts:
    an order that has one is never taken for "not invoiced" without staff confirming.
    ``app_code`` names the app that made the document (another billing app, or ours).
    """

    public_id: str = ""
    external_id: str = ""
    url: str = ""
    document_type: int = INVOICE_DOCUMENT
    created_at: datetime | None = None
    app_code: str = ""
    type_text: str = ""

    @property
    def is_invoice(self) -> bool:
        return self.document_type == INVOICE_DOCUMENT

    @property
    def is_credit_note(self) -> bool:
        return self.document_type == CREDIT_NOTE_DOCUMENT

    @property
    def is_unreadable(self) -> bool:
        return self.document_type not in (INVOICE_DOCUMENT, CREDIT_NOTE_DOCUMENT)

    @property
    def kind_label(self) -> str:
        if self.is_invoice:
            return "Invoice"
        if self.is_credit_note:
            return "Credit note"
        return f"Document of unknown type ({self.type_text or '?'})"

    def describe(self) -> str:
        """One line for staff: kind, reference, and the app that made it."""
        made_by = f", made by {self.app_code}" if self.app_code else ""
        return f"{self.kind_label} {self.public_id or '(no reference)'}{made_by}"


_DOCUMENT_WORDS: dict[str, int] = {
    "invoice": INVOICE_DOCUMENT,
    "factura": INVOICE_DOCUMENT,
    "fatura": INVOICE_DOCUMENT,
    "facture": INVOICE_DOCUMENT,
    "boleta": INVOICE_DOCUMENT,
    "credit note": CREDIT_NOTE_DOCUMENT,
    "credit_note": CREDIT_NOTE_DOCUMENT,
    "creditnote": CREDIT_NOTE_DOCUMENT,
    "nota de credito": CREDIT_NOTE_DOCUMENT,
    "nota de crédito": CREDIT_NOTE_DOCUMENT,
    "avoir": CREDIT_NOTE_DOCUMENT,
}


def document_kind(value: object) -> int:
    """``document_type`` as the spec writes it: ``1``, ``"1"``, ``"1 - invoice"``, ``"invoice"``
    (and ``0`` likewise for credit notes); -1 for anything else. Never raises."""
    if isinstance(value, bool):
        return -1
    if isinstance(value, int):
        return value if value in (INVOICE_DOCUMENT, CREDIT_NOTE_DOCUMENT) else -1
    if isinstance(value, float):
        return int(value) if value in (0.0, 1.0) else -1
    if not isinstance(value, str):
        return -1
    text = " ".join(value.strip().lower().split())
    if not text:
        return -1
    number, sep, word = text.partition("-")
    number = number.strip()
    word = word.strip()
    if number in ("0", "1"):
        kind = int(number)
        # "1 - invoice" must not contradict itself: "1 - credit note" is not readable.
        if sep and word and _DOCUMENT_WORDS.get(word, kind) != kind:
            return -1
        return kind
    return _DOCUMENT_WORDS.get(text, -1)


@dataclass(frozen=True, slots=True)
class Summary:
    """One row of the combined list (orders and invoices side by side)."""

    source: Source
    account: str
    id: str
    date: datetime | None = None
    customer: str = ""
    email: str = ""
    total: Decimal | None = None
    currency: str = ""
    status: str = "unknown"
    status_label: str = ""
    delivery_type: str = ""
    invoice_public_id: str = ""
    invoice_url: str = ""
    needs_action: str = ""  # filled by the cache/sync layer
    search_text: str = ""
    problems_count: int = 0


ORDER_STATUS_LABELS: dict[str, str] = {
    "pending_payment": "Pending payment",
    "paid": "Paid",
    "canceled": "Canceled",
    "abandoned": "Abandoned",
    "created": "Created",
    "unknown": "Unknown",
}

SHIPMENT_STATUS_LABELS: dict[str, str] = {
    "unfulfilled": "Unfulfilled",
    "requested": "Requested",
    "in_transit": "In transit",
    "delivered": "Delivered",
    "failed": "Failed",
    "pickup_available": "Pickup available",
    "unknown": "Unknown",
}

INVOICE_STATUS_LABELS: dict[str, str] = {
    "paid": "Paid",
    "sent": "Sent",
    "partially_sent": "Partially sent",
    "ready": "Ready",
    "collected": "Collected",
    "refunded": "Refunded",
    "cancelled": "Cancelled",
    "unknown": "Unknown",
}

DELIVERY_LABELS: dict[str, str] = {
    "buy_online": "Buy Online",
    "click_and_collect": "Click and Collect",
    "unknown": "unknown delivery type",
}


def _search_text(*parts: str) -> str:
    words = (p.strip().lower() for p in parts)
    return " ".join(w for w in words if w)


@dataclass(frozen=True, slots=True)
class Order:
    """A Jumpseller order. Money is ``Decimal`` in ``currency``; dates are aware."""

    id: int
    account: str = ""
    created_at: datetime | None = None
    completed_at: datetime | None = None
    status: str = "unknown"  # pending_payment|paid|canceled|abandoned|created|unknown
    status_label: str = ""  # the store's own (translated) words
    shipment_status: str = "unknown"
    currency: str = ""
    subtotal: Decimal = ZERO
    tax: Decimal = ZERO
    shipping: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    discount: Decimal = ZERO
    shipping_discount: Decimal = ZERO
    gift_cards_amount: Decimal = ZERO
    total: Decimal = ZERO
    payment_method_name: str = ""
    shipping_method_name: str = ""
    shipping_option: str = ""  # delivery | store_pickup | no_shipping
    fulfillment_status: str = ""
    tracking_number: str = ""
    tracking_company: str = ""
    tracking_url: str = ""
    customer: Customer = field(default_factory=Customer)
    billing_address: Address = field(default_factory=Address)
    shipping_address: Address = field(default_factory=Address)
    lines: tuple[OrderLine, ...] = ()
    documents: tuple[Document, ...] = ()  # attached by the sync with dataclasses.replace
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    problems: tuple[str, ...] = ()
    total_known: bool = True  # False when the payload had no readable total (then total is 0)
    # Paths of amounts and quantities that were sent but cannot be used ("total",
    # "products[0].qty"): the order's money is then unknown and it cannot be invoiced
    # (``rules.invoice_blocker``); ``problems`` holds a sentence for each.
    unusable: tuple[str, ...] = ()

    @property
    def is_business(self) -> bool:
        return bool(self.customer.company_name.strip())

    @property
    def invoice(self) -> Document | None:
        """The latest invoice attached to the order, if any."""
        return _latest(d for d in self.documents if d.is_invoice)

    @property
    def credit_note(self) -> Document | None:
        """The latest credit note attached to the order, if any."""
        return _latest(d for d in self.documents if d.is_credit_note)

    @property
    def invoice_balance(self) -> int:
        """Invoices attached minus credit notes attached: 1 while an invoice stands, 0 once it
        was credited (a re-paid order may then be invoiced again)."""
        return sum(d.is_invoice for d in self.documents) - sum(d.is_credit_note for d in self.documents)

    @property
    def is_invoiced(self) -> bool:
        """An invoice stands (not credited)."""
        return self.invoice_balance > 0

    @property
    def unreadable_documents(self) -> tuple[Document, ...]:
        """Documents whose type could not be read: staff decide what they are."""
        return tuple(d for d in self.documents if d.is_unreadable)

    @property
    def has_gift_cards(self) -> bool:
        """Gift cards were redeemed to pay for this order (the invoice must say so)."""
        return self.gift_cards_amount > 0

    @property
    def has_gift_card_products(self) -> bool:
        """The order sells gift cards (those lines carry 0 % VAT)."""
        return any(line.is_gift_card for line in self.lines)

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(line.sku for line in self.lines if line.sku)

    @property
    def customer_name(self) -> str:
        return (
            self.customer.fullname
            or self.billing_address.fullname
            or self.customer.company_name
            or self.customer.email
        )

    def summary(self) -> Summary:
        doc = self.invoice
        return Summary(
            source=Source.JUMPSELLER,
            account=self.account,
            id=str(self.id),
            date=self.created_at,
            customer=self.customer_name,
            email=self.customer.email,
            total=self.total if self.total_known else None,
            currency=self.currency,
            status=self.status,
            status_label=self.status_label or ORDER_STATUS_LABELS.get(self.status, self.status),
            delivery_type=self.shipping_option,
            invoice_public_id=doc.public_id if doc else "",
            invoice_url=doc.url if doc else "",
            search_text=_search_text(
                str(self.id),
                self.customer_name,
                self.customer.company_name,
                self.customer.email,
                *self.skus,
                self.tracking_number,
                *(d.public_id for d in self.documents),
            ),
            problems_count=len(self.problems),
        )


def _latest(docs: Any) -> Document | None:
    """The most recent document: by ``created_at`` when known, else the last one listed."""
    found: Document | None = None
    for doc in docs:
        if (
            found is None
            or found.created_at is None
            or doc.created_at is None
            or doc.created_at >= found.created_at
        ):
            found = doc
    return found


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    id: str = ""
    advert_name: str = ""
    variant_name: str = ""
    sku: str = ""
    barcode: str = ""
    quantity: int = 0
    price: Decimal = ZERO
    total: Decimal = ZERO
    status: str = ""


@dataclass(frozen=True, slots=True)
class Shipment:
    id: str = ""
    tracking_number: str = ""
    carrier: str = ""
    tracking_link: str = ""
    note: str = ""
    dispatched_at: datetime | None = None
    items: tuple[tuple[str, int], ...] = ()  # (line item id, quantity shipped)


_ACTION_NAMES = {"sent": "sent", "ready": "ready", "collected": "collected"}


@dataclass(frozen=True, slots=True)
class Invoice:
    """A Marketplacer invoice (one seller's share of an order, one delivery type).

    ``raw`` is a JSON:API document (``{"data": resource, "included": [...]}``) holding the
    resource and the included resources it refers to, exactly as sent, so
    :func:`parse_invoice_document` rebuilds the same record from it.
    """

    id: str
    account: str = ""
    created_at: datetime | None = None
    paid_at: datetime | None = None
    updated_at: datetime | None = None
    ready_at: datetime | None = None
    collected_at: datetime | None = None
    status: str = "unknown"  # paid|sent|partially_sent|ready|collected|refunded|cancelled|unknown
    delivery_type: str = "unknown"  # buy_online|click_and_collect|unknown
    currency: str = ""  # from the account: Marketplacer invoices carry none
    subtotal: Decimal = ZERO
    discount: Decimal = ZERO
    total: Decimal = ZERO
    tax_total: Decimal = ZERO
    postage: Decimal = ZERO
    tax_inclusive: bool = True
    postage_tracking: tuple[str, ...] = ()
    postage_carrier: tuple[str, ...] = ()
    message_to_seller: str = ""
    external_id: str = ""
    seller_id: str = ""
    lines: tuple[InvoiceLine, ...] = ()
    customer: Customer = field(default_factory=Customer)
    shipping_address: Address = field(default_factory=Address)
    billing_customer: Customer = field(default_factory=Customer)
    billing_address: Address = field(default_factory=Address)
    shipments: tuple[Shipment, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    problems: tuple[str, ...] = ()
    total_known: bool = True

    @property
    def status_label(self) -> str:
        return INVOICE_STATUS_LABELS.get(self.status, self.status)

    @property
    def delivery_label(self) -> str:
        return DELIVERY_LABELS.get(self.delivery_type, self.delivery_type)

    @property
    def can_mark_sent(self) -> bool:
        return self.action_refusal("sent") is None

    @property
    def can_mark_ready(self) -> bool:
        return self.action_refusal("ready") is None

    @property
    def can_mark_collected(self) -> bool:
        return self.action_refusal("collected") is None

    def action_refusal(self, action: str) -> str | None:
        """Why ``action`` ("sent", "ready", "collected"; "mark_" prefix allowed) is not possible
        now, as one plain sentence for a tooltip or the command line; ``None`` when it is.

        Follows Marketplacer's state diagram: paid → sent (Buy Online; also from
        partially_sent), paid → ready → collected (Click and Collect).
        """
        name = _ACTION_NAMES.get(action.strip().lower().removeprefix("mark_"))
        if name is None:
            return f"There is no action called '{action}' for invoices."
        status = self.status_label.lower()
        if name == "sent":
            if self.delivery_type != "buy_online":
                return f"Only Buy Online invoices can be marked sent; this one is {self.delivery_label}."
            if self.status in ("paid", "partially_sent"):
                return None
            if self.status == "sent":
                return f"Invoice {self.id} is already marked sent."
            return f"Invoice {self.id} is {status}: only paid or partially sent invoices can be marked sent."
        if self.delivery_type != "click_and_collect":
            return f"Only Click and Collect invoices can be marked {name}; this one is {self.delivery_label}."
        if name == "ready":
            if self.status == "paid":
                return None
            if self.status == "ready":
                return f"Invoice {self.id} is already ready for collection."
            return f"Invoice {self.id} is {status}: only paid invoices can be marked ready."
        if self.status == "ready":
            return None
        if self.status == "collected":
            return f"Invoice {self.id} is already marked collected."
        if self.status == "paid":
            return f"Invoice {self.id} is not ready yet: mark it ready before marking it collected."
        return f"Invoice {self.id} is {status}: only invoices ready for collection can be marked collected."

    @property
    def why_not_sent(self) -> str | None:
        return self.action_refusal("sent")

    @property
    def why_not_ready(self) -> str | None:
        return self.action_refusal("ready")

    @property
    def why_not_collected(self) -> str | None:
        return self.action_refusal("collected")

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(line.sku for line in self.lines if line.sku)

    @property
    def tracking_numbers(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for number in (*self.postage_tracking, *(s.tracking_number for s in self.shipments)):
            if number:
                seen.setdefault(number, None)
        return tuple(seen)

    @property
    def customer_name(self) -> str:
        return (
            self.customer.fullname
            or self.billing_customer.fullname
            or self.customer.company_name
            or self.billing_customer.company_name
            or self.customer.email
            or self.billing_customer.email
        )

    def summary(self) -> Summary:
        return Summary(
            source=Source.MARKETPLACER,
            account=self.account,
            id=self.id,
            date=self.paid_at or self.created_at,
            customer=self.customer_name,
            email=self.customer.email or self.billing_customer.email,
            total=self.total if self.total_known else None,
            currency=self.currency,
            status=self.status,
            status_label=self.status_label,
            delivery_type=self.delivery_type,
            search_text=_search_text(
                self.id,
                self.customer_name,
                self.customer.company_name or self.billing_customer.company_name,
                self.customer.email,
                self.billing_customer.email,
                self.external_id,
                *self.skus,
                *self.tracking_numbers,
            ),
            problems_count=len(self.problems),
        )


# ----------------------------------------------------------------------------- values

_UTC_SUFFIX = re.compile(r"\s*(?:UTC|GMT|Z)$", re.IGNORECASE)
_PLAUSIBLE_YEARS = range(1900, 2200)


def parse_datetime(value: object) -> datetime | None:
    """An aware datetime from the formats the services use; ``None`` when absent.

    Accepts ``"2023-02-10 13:56:35 UTC"`` (Jumpseller), ISO 8601 with ``Z`` or an offset
    (``"2022-11-15T15:10:35+11:00"``, fractions allowed), and a bare date ``"2021-05-03"``
    (midnight UTC). A time without a zone is taken as UTC, which is what Jumpseller documents.
    Raises ``ValueError`` for anything else, including dates that cannot exist
    (``"2020-13-11T14:49:18.000+11:00"``, from Marketplacer's own docs).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a date text")
    text = value.strip()
    if not text:
        return None
    match = _UTC_SUFFIX.search(text)
    if match and match.start() > 0:
        text = text[: match.start()] + "+00:00"
    if len(text) > 64:
        raise ValueError("too long for a date")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year not in _PLAUSIBLE_YEARS:
        raise ValueError("year out of range")
    return moment


def to_datetime(value: object, *, field: str = "date", problems: list[str] | None = None) -> datetime | None:
    """Tolerant :func:`parse_datetime`: ``None`` plus a problem sentence for a bad value."""
    try:
        return parse_datetime(value)
    except (ValueError, OverflowError):
        if problems is not None:
            problems.append(f"{field}: {show_value(value)} is not a valid date; left empty.")
        return None


def _norm(text: str) -> str:
    """Case-, accent- and spacing-insensitive key: "Pendiente  de_Pago" → "pendiente de pago"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.split(r"[\s_\-]+", plain.casefold().strip())).strip()


def _table(entries: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for canonical, names in entries.items():
        out[_norm(canonical)] = canonical
        for name in names:
            out[_norm(name)] = canonical
    return out


# Jumpseller translates status texts into the store's language; *_enum fields are preferred.
_ORDER_STATUSES = _table(
    {
        "paid": (
            "Paid", "Pagado", "Pagada", "Pago", "Paga", "Payé", "Payée", "Bezahlt", "Pagato",
        ),
        "pending_payment": (
            "Pending Payment", "Pending", "Pago Pendiente", "Pendiente de pago", "Pendiente",
            "Pagamento Pendente", "Aguardando Pagamento", "Pendente", "Pendente de pagamento",
            "En attente de paiement", "En attente", "Paiement en attente",
        ),
        "canceled": (
            "Canceled", "Cancelled", "Cancelado", "Cancelada", "Anulado", "Anulada", "Annulé",
            "Annulée", "Storniert", "Annullato",
        ),
        "abandoned": (
            "Abandoned", "Abandonado", "Abandonada", "Abandonné", "Abandonnée", "Abgebrochen",
        ),
        "created": ("Created", "Creado", "Creada", "Criado", "Criada", "New", "Nuevo", "Novo"),
    }
)  # fmt: skip

_SHIPMENT_STATUSES = _table(
    {
        "unfulfilled": (
            "Unfulfilled", "Not Processed", "Not fulfilled", "No procesado", "Sin procesar",
            "No enviado", "No despachado", "Não processado", "Não enviado", "Pendente de envio",
        ),
        "requested": ("Requested", "Solicitado", "Solicitada", "Pedido"),
        "in_transit": (
            "In Transit", "Shipped", "En tránsito", "En camino", "Enviado", "Despachado",
            "Em trânsito", "Em transporte",
        ),
        "delivered": ("Delivered", "Entregado", "Entregada", "Entregue"),
        "failed": ("Failed", "Fallido", "Fallida", "Falló", "Falhou", "Falha", "Com falha"),
        "pickup_available": (
            "Pickup Available", "Available for pickup", "Ready for pickup", "Disponible para retiro",
            "Listo para retiro", "Listo para retirar", "Disponível para retirada",
            "Disponível para retirar", "Pronto para retirada",
        ),
    }
)  # fmt: skip

_INVOICE_STATUSES = _table(
    {
        "paid": (),
        "sent": ("Shipped",),
        "partially_sent": ("Partially Sent", "Partially Shipped"),
        "ready": ("Ready for collection", "Ready for pickup"),
        "collected": ("Picked up",),
        "refunded": (),
        "cancelled": ("Canceled",),
    }
)

_DELIVERY_TYPES = _table(
    {
        "buy_online": ("Buy Online", "Delivery", "Online"),
        "click_and_collect": ("Click and Collect", "Click & Collect", "Pickup", "Collect"),
    }
)


def _lookup(table: dict[str, str], value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return table.get(_norm(value))


def order_status(value: object) -> str:
    """Canonical order status for a status text or enum in any supported language, else "unknown"."""
    return _lookup(_ORDER_STATUSES, value) or "unknown"


def shipment_status(value: object) -> str:
    return _lookup(_SHIPMENT_STATUSES, value) or "unknown"


def invoice_status(value: object) -> str:
    return _lookup(_INVOICE_STATUSES, value) or "unknown"


# ----------------------------------------------------------------------------- reading


class _Reader:
    """Reads fields of one record and collects a problem sentence per unexpected value."""

    __slots__ = ("problems", "unusable")

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.unusable: list[str] = []  # paths of amounts/quantities sent but not usable

    def note(self, sentence: str) -> None:
        self.problems.append(sentence)

    def obj(self, data: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any]:
        value = data.get(key)
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return value
        self.note(f"{path or key}: expected an object, got {show_value(value)}; ignored.")
        return {}

    def arr(self, data: Mapping[str, Any], key: str, path: str = "") -> list[Any]:
        value = data.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self.note(f"{path or key}: expected a list, got {show_value(value)}; ignored.")
        return []

    def text(self, data: Mapping[str, Any], key: str, path: str = "") -> str:
        value = data.get(key)
        if value is None:
            return ""
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return str(value)
        self.note(f"{path or key}: expected text, got {show_value(value)}; left empty.")
        return ""

    def ident(self, data: Mapping[str, Any], key: str, path: str = "") -> str:
        """An id that may arrive as a number or a string; always kept as a string."""
        value = data.get(key)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, int | str | float):
            self.note(f"{path or key}: {show_value(value)} is not an id; left empty.")
            return ""
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else str(value)
        return str(value).strip()

    def money(
        self, data: Mapping[str, Any], key: str, path: str = "", *, required: bool = False
    ) -> Decimal | None:
        """The amount, or ``None`` when missing (noted if ``required``) or unreadable (noted,
        and its path kept in ``unusable``: beyond the money bounds it is not a value at all)."""
        where = path or key
        value = data.get(key)
        noted = len(self.problems)
        amount = to_decimal(value, field=where, problems=self.problems)
        if len(self.problems) > noted:
            self.unusable.append(where)
        if amount is None and value is None and required:
            self.note(f"{where} is missing; counted as 0.")
        return amount

    def amount(self, data: Mapping[str, Any], key: str, path: str = "") -> Decimal:
        got = self.money(data, key, path)
        return ZERO if got is None else got

    def integer(self, data: Mapping[str, Any], key: str, path: str = "", default: int = 0) -> int:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,18}\s*", value):
            return int(value)
        self.note(f"{path or key}: {show_value(value)} is not a whole number; counted as {default}.")
        return default

    def quantity(self, data: Mapping[str, Any], key: str, path: str = "") -> int:
        """Units on a line: a whole number from 0 to ``MAX_QUANTITY`` (0 when absent).

        Anything else is noted and its path kept in ``unusable``; the 0 returned then is a
        placeholder, not a count (a line of 9988985783758721 units is a data error, and
        clamping it to some maximum would make a wrong invoice look right).
        """
        where = path or key
        value = data.get(key)
        if value is None:
            return 0
        count: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            count = value
        elif isinstance(value, float) and value.is_integer():
            count = int(value)
        elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,30}\s*", value):
            count = int(value)
        if count is None:
            self.note(f"{where}: {show_value(value)} is not a whole number of units; quantity unknown.")
        elif not 0 <= count <= MAX_QUANTITY:
            self.note(
                f"{where}: {show_value(value)} is not a plausible quantity (0 to {MAX_QUANTITY:,} units); "
                "quantity unknown."
            )
        else:
            return count
        self.unusable.append(where)
        return 0

    def when(self, data: Mapping[str, Any], key: str, path: str = "") -> datetime | None:
        return to_datetime(data.get(key), field=path or key, problems=self.problems)

    def flag(self, data: Mapping[str, Any], key: str, path: str = "", default: bool = False) -> bool:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.note(f"{path or key}: {show_value(value)} is not true or false; taken as {default}.")
        return default


def _malformed(what: str, *, service: str, account: str, endpoint: str) -> MalformedResponseError:
    return MalformedResponseError(what, service=service, account=account, endpoint=endpoint)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


# ----------------------------------------------------------------------------- Jumpseller

_JS = "Jumpseller"


def _js_status(r: _Reader, order: Mapping[str, Any]) -> tuple[str, str]:
    """(canonical status, label as sent): the enum wins, the translated text is the fallback."""
    label = r.text(order, "status") or r.text(order, "status_name")
    enum = order.get("status_enum")
    if enum is not None:
        canonical = order_status(enum)
        if canonical != "unknown":
            return canonical, label
        r.note(f"status_enum: {show_value(enum)} is not a known order status.")
    canonical = order_status(label)
    if canonical == "unknown":
        shown = show_value(label or order.get("status"))
        r.note(f"status: {shown} is not a known order status; shown as unknown.")
    return canonical, label


def _js_shipment_status(r: _Reader, order: Mapping[str, Any]) -> str:
    enum = order.get("shipment_status_enum")
    if enum is not None:
        canonical = shipment_status(enum)
        if canonical != "unknown":
            return canonical
        r.note(f"shipment_status_enum: {show_value(enum)} is not a known shipment status.")
    label = r.text(order, "shipment_status")
    if not label:
        return "unknown"
    canonical = shipment_status(label)
    if canonical == "unknown":
        r.note(f"shipment_status: {show_value(label)} is not a known shipment status; shown as unknown.")
    return canonical


def _js_address(r: _Reader, data: Mapping[str, Any], path: str, company: str = "") -> Address:
    def t(key: str) -> str:
        return r.text(data, key, f"{path}.{key}")

    return Address(
        name=t("name"),
        surname=t("surname"),
        company=t("company") or company,
        address=t("address"),
        street_number=t("street_number"),
        city=t("city"),
        postal=t("postal") or t("zip"),
        region=t("region"),
        country=t("country"),
        country_code=t("country_code"),
        municipality=t("municipality"),
        phone=t("phone"),
    )


def _js_line(r: _Reader, item: Mapping[str, Any], path: str) -> OrderLine:
    first_unusable = len(r.unusable)
    qty_key = "qty" if "qty" in item else "quantity"
    qty = r.quantity(item, qty_key, f"{path}.{qty_key}")
    price = r.amount(item, "price", f"{path}.price")
    tax = r.amount(item, "tax", f"{path}.tax")
    discount = r.amount(item, "discount", f"{path}.discount")
    taxes = r.arr(item, "taxes", f"{path}.taxes")
    tax_rate: Decimal | None = None
    tax_included: bool | None = None
    if taxes:
        first = taxes[0]
        if isinstance(first, Mapping):
            fixed = r.flag(first, "fixed", f"{path}.taxes[0].fixed")
            if not fixed:
                tax_rate = r.money(first, "rate", f"{path}.taxes[0].rate")
            if first.get("tax_on_product_price") is not None:
                tax_included = r.flag(first, "tax_on_product_price", f"{path}.taxes[0].tax_on_product_price")
        else:
            r.note(f"{path}.taxes[0]: expected an object, got {show_value(first)}; ignored.")
    options: list[tuple[str, str]] = []
    for i, opt in enumerate(r.arr(item, "options", f"{path}.options")):
        if isinstance(opt, Mapping):
            options.append(
                (
                    r.text(opt, "name", f"{path}.options[{i}].name"),
                    r.text(opt, "value", f"{path}.options[{i}].value"),
                )
            )
        elif isinstance(opt, str):
            options.append(("", opt))
        else:
            r.note(f"{path}.options[{i}]: {show_value(opt)} is not an option; ignored.")
    return OrderLine(
        id=r.ident(item, "id", f"{path}.id"),
        variant_id=r.ident(item, "variant_id", f"{path}.variant_id"),
        sku=r.text(item, "sku", f"{path}.sku"),
        name=r.text(item, "name", f"{path}.name"),
        qty=qty,
        price=price,
        tax=tax,
        discount=discount,
        type=r.text(item, "type", f"{path}.type"),
        tax_rate=tax_rate,
        options=tuple(options),
        tax_included=tax_included,
        unusable=tuple(p.removeprefix(f"{path}.") for p in r.unusable[first_unusable:]),
    )


def _js_order_id(r: _Reader, order: Mapping[str, Any]) -> int:
    value = order.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,18}\s*", value):
        return int(value)
    r.note(f"id: {show_value(value)} is not an order number; shown as 0.")
    return 0


def parse_order(body: Any, *, account: str, endpoint: str = "") -> Order:
    """An :class:`Order` from ``{"order": {...}}`` or the inner object itself."""
    if not isinstance(body, Mapping):
        raise _malformed(
            f"expected an order object, got {_kind(body)}.", service=_JS, account=account, endpoint=endpoint
        )
    inner = body.get("order", body) if "order" in body else body
    if not isinstance(inner, Mapping):
        raise _malformed(
            f"expected an order object under 'order', got {_kind(inner)}.",
            service=_JS,
            account=account,
            endpoint=endpoint,
        )
    r = _Reader()
    status, label = _js_status(r, inner)
    customer_data = r.obj(inner, "customer")
    billing = r.obj(inner, "billing_address")
    shipping = r.obj(inner, "shipping_address")
    billing_info = r.obj(inner, "billing_information")
    company = r.text(billing_info, "company_name", "billing_information.company_name")
    billing_address = _js_address(r, billing, "billing_address", company)
    fullname = r.text(customer_data, "fullname", "customer.fullname") or " ".join(
        p
        for p in (
            r.text(customer_data, "name", "customer.name"),
            r.text(customer_data, "surname", "customer.surname"),
        )
        if p
    )
    customer = Customer(
        id=r.ident(customer_data, "id", "customer.id"),
        email=r.text(customer_data, "email", "customer.email"),
        phone=r.text(customer_data, "phone", "customer.phone"),
        fullname=fullname or billing_address.fullname,
        company_name=company,
        tax_id=r.text(billing, "taxid", "billing_address.taxid")
        or r.text(customer_data, "tax_id", "customer.tax_id"),
    )
    lines: list[OrderLine] = []
    products = r.arr(inner, "products")
    if inner.get("products") is not None and not isinstance(inner.get("products"), list):
        r.unusable.append("products")  # the lines, and so the invoice, are unknown
    for i, item in enumerate(products):
        if isinstance(item, Mapping):
            lines.append(_js_line(r, item, f"products[{i}]"))
        else:
            r.note(f"products[{i}]: expected a product object, got {show_value(item)}; skipped.")
            r.unusable.append(f"products[{i}]")
    gift = r.money(inner, "gift_cards_discount")
    gift_alt = r.money(inner, "gift_cards_amount")
    if gift is not None and gift_alt is not None and gift != gift_alt:
        r.note(f"gift_cards_discount ({gift}) and gift_cards_amount ({gift_alt}) disagree; using the first.")
    total = r.money(inner, "total", required=True)
    currency = r.text(inner, "currency").upper()
    if not currency:
        r.note("currency is missing; amounts are shown without a currency.")
    return Order(
        id=_js_order_id(r, inner),
        account=account,
        created_at=r.when(inner, "created_at"),
        completed_at=r.when(inner, "completed_at"),
        status=status,
        status_label=label,
        shipment_status=_js_shipment_status(r, inner),
        currency=currency,
        subtotal=r.amount(inner, "subtotal"),
        tax=r.amount(inner, "tax"),
        shipping=r.amount(inner, "shipping"),
        shipping_tax=r.amount(inner, "shipping_tax"),
        discount=r.amount(inner, "discount"),
        shipping_discount=r.amount(inner, "shipping_discount"),
        gift_cards_amount=gift if gift is not None else (gift_alt if gift_alt is not None else ZERO),
        total=ZERO if total is None else total,
        payment_method_name=r.text(inner, "payment_method_name"),
        shipping_method_name=r.text(inner, "shipping_method_name"),
        shipping_option=r.text(inner, "shipping_option"),
        fulfillment_status=r.text(inner, "fulfillment_status"),
        tracking_number=r.text(inner, "tracking_number"),
        tracking_company=r.text(inner, "tracking_company"),
        tracking_url=r.text(inner, "tracking_url"),
        customer=customer,
        billing_address=billing_address,
        shipping_address=_js_address(r, shipping, "shipping_address"),
        lines=tuple(lines),
        raw=dict(body),
        problems=tuple(r.problems),
        total_known=total is not None,
        unusable=tuple(r.unusable),
    )


def parse_orders(array: Any, *, account: str, endpoint: str = "") -> list[Order]:
    """Orders from a list endpoint: a bare JSON array of ``{"order": {...}}``."""
    if not isinstance(array, list):
        raise _malformed(
            f"expected a list of orders, got {_kind(array)}.", service=_JS, account=account, endpoint=endpoint
        )
    out: list[Order] = []
    for i, item in enumerate(array):
        if not isinstance(item, Mapping):
            raise _malformed(
                f"item {i} of the order list is {_kind(item)}, not an order.",
                service=_JS,
                account=account,
                endpoint=endpoint,
            )
        out.append(parse_order(item, account=account, endpoint=endpoint))
    return out


def _document(item: Mapping[str, Any]) -> Document:
    r = _Reader()
    inner = item.get("document", item)
    doc = inner if isinstance(inner, Mapping) else {}
    kind = doc.get("document_type")
    if kind is None:
        document_type = INVOICE_DOCUMENT  # the documents endpoint's default type
        type_text = ""
    else:
        document_type = document_kind(kind)
        type_text = str(kind)[:80]
    return Document(
        public_id=r.text(doc, "public_id"),
        external_id=r.text(doc, "external_id"),
        url=r.text(doc, "url"),
        document_type=document_type,
        created_at=r.when(doc, "created_at"),
        app_code=r.text(doc, "app_code"),
        type_text=type_text,
    )


def parse_documents(array: Any, *, account: str, endpoint: str = "") -> list[Document]:
    """Documents (invoices, credit notes) from ``[{"document": {...}}, ...]``.

    A missing ``document_type`` means an invoice (the endpoint's default); the spec's strings
    (``"1 - invoice"``) and words are read by :func:`document_kind`; an unreadable one gets
    ``-1``: neither an invoice nor a credit note, but still a document (see ``Order``).
    """
    if not isinstance(array, list):
        raise _malformed(
            f"expected a list of documents, got {_kind(array)}.",
            service=_JS,
            account=account,
            endpoint=endpoint,
        )
    out: list[Document] = []
    for i, item in enumerate(array):
        if not isinstance(item, Mapping) or not isinstance(item.get("document", item), Mapping):
            raise _malformed(
                f"item {i} of the document list is not a document.",
                service=_JS,
                account=account,
                endpoint=endpoint,
            )
        out.append(_document(item))
    return out


# ----------------------------------------------------------------------------- Marketplacer

_MP = "Marketplacer"


class Included(dict[tuple[str, str], Mapping[str, Any]]):
    """A document's ``included`` by (type, id), minus the keys that occur more than once with
    different content (``ambiguous``): a list page may reuse the show answer's fixed ids
    ``"customer"``/``"billing_customer"`` for a different customer per invoice, and guessing
    which is whose could show one invoice's customer on another."""

    __slots__ = ("ambiguous", "present")

    def __init__(self, present: bool = False) -> None:
        super().__init__()
        self.ambiguous: set[tuple[str, str]] = set()
        self.present = present  # the answer had an ``included`` list at all


def _key(kind: object, ident: object) -> tuple[str, str] | None:
    if not isinstance(kind, str) or isinstance(ident, bool) or not isinstance(ident, int | str):
        return None
    return kind, str(ident).strip()


def _index(r: _Reader, included: Any) -> Included:
    if included is None:
        return Included()
    if not isinstance(included, list):
        r.note(f"included: expected a list, got {show_value(included)}; ignored.")
        return Included()
    out = Included(present=True)
    for res in included:
        if isinstance(res, Mapping):
            key = _key(res.get("type"), res.get("id"))
            if key is None or key in out.ambiguous:
                continue
            prior = out.get(key)
            if prior is None:
                out[key] = res
            elif prior != res:
                del out[key]
                out.ambiguous.add(key)
    return out


def _related(
    r: _Reader,
    relationships: Mapping[str, Any],
    name: str,
    index: Included,
    *,
    must_resolve: bool = False,
) -> list[Mapping[str, Any]] | None:
    """Resources a relationship points at (``None`` when the relationship is absent).

    A reference to an ambiguous key is never resolved and always flagged; with
    ``must_resolve``, so is a reference missing from an ``included`` that was sent."""
    rel = relationships.get(name)
    if rel is None:
        return None
    if not isinstance(rel, Mapping):
        r.note(f"relationships.{name}: expected an object, got {show_value(rel)}; ignored.")
        return []
    data = rel.get("data")
    refs = data if isinstance(data, list) else [data] if isinstance(data, Mapping) else []
    out: list[Mapping[str, Any]] = []
    for ref in refs:
        if not isinstance(ref, Mapping):
            continue
        key = _key(ref.get("type"), ref.get("id"))
        if key is None:
            continue
        if key in index:
            out.append(index[key])
        elif key in index.ambiguous:
            r.note(
                f"{name} could not be resolved: the answer includes several different "
                f"{key[0]} with id {key[1]!r}; none is shown rather than a wrong one."
            )
        elif must_resolve and index.present:
            r.note(f"{name} could not be resolved: {key[0]} {key[1]!r} is not in the answer.")
    return out


def _attributes(r: _Reader, resource: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    return r.obj(resource, "attributes", f"{path}.attributes")


def _mp_customer(r: _Reader, resource: Mapping[str, Any] | None, path: str) -> tuple[Customer, Address]:
    if resource is None:
        return Customer(), Address()
    a = _attributes(r, resource, path)

    def t(key: str) -> str:
        return r.text(a, key, f"{path}.{key}")

    first, surname, company, phone = t("first_name"), t("surname"), t("company_name"), t("phone")
    customer = Customer(
        id=r.ident(resource, "id", f"{path}.id"),
        email=t("email_address") or t("email"),
        phone=phone,
        fullname=" ".join(p for p in (first, surname) if p),
        company_name=company,
    )
    address = Address(
        name=first,
        surname=surname,
        company=company,
        address=t("address"),
        city=t("city"),
        postal=t("postcode"),
        region=t("state"),
        country=t("country"),
        country_code=t("country_code"),
        phone=phone,
    )
    return customer, address


def _mp_line(r: _Reader, resource: Mapping[str, Any], path: str) -> InvoiceLine:
    a = _attributes(r, resource, path)
    return InvoiceLine(
        id=r.ident(resource, "id", f"{path}.id"),
        advert_name=r.text(a, "advert_name", f"{path}.advert_name"),
        variant_name=r.text(a, "variant_name", f"{path}.variant_name"),
        sku=r.text(a, "variant_sku", f"{path}.variant_sku"),
        barcode=r.text(a, "variant_barcode", f"{path}.variant_barcode"),
        quantity=r.quantity(a, "quantity", f"{path}.quantity"),
        price=r.amount(a, "price", f"{path}.price"),
        total=r.amount(a, "total", f"{path}.total"),
        status=r.text(a, "status", f"{path}.status"),
    )


def _shipped_items(r: _Reader, raw_items: list[Any], path: str) -> tuple[tuple[str, int], ...]:
    items: list[tuple[str, int]] = []
    for i, item in enumerate(raw_items):
        if not isinstance(item, Mapping):
            r.note(f"{path}[{i}]: expected an object, got {show_value(item)}; ignored.")
            continue
        nested = item.get("attributes")
        attrs: Mapping[str, Any] = nested if isinstance(nested, Mapping) else item
        items.append(
            (
                r.ident(attrs, "line_item_id", f"{path}[{i}].line_item_id"),
                r.quantity(attrs, "quantity", f"{path}[{i}].quantity"),
            )
        )
    return tuple(items)


def _mp_shipment(r: _Reader, resource: Mapping[str, Any], path: str) -> Shipment:
    a = _attributes(r, resource, path)
    return Shipment(
        id=r.ident(resource, "id", f"{path}.id"),
        tracking_number=r.text(a, "shipment_tracking_number", f"{path}.shipment_tracking_number"),
        carrier=r.text(a, "shipment_carrier", f"{path}.shipment_carrier"),
        tracking_link=r.text(a, "shipment_tracking_link", f"{path}.shipment_tracking_link"),
        note=r.text(a, "note", f"{path}.note"),
        dispatched_at=r.when(a, "dispatched_at", f"{path}.dispatched_at"),
        items=_shipped_items(r, r.arr(a, "shipped_items", f"{path}.shipped_items"), f"{path}.shipped_items"),
    )


def _split(value: str) -> tuple[str, ...]:
    """Comma-separated values (one per shipment since 2019), blanks dropped."""
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _by_type(index: Included, kind: str) -> list[Mapping[str, Any]]:
    return [res for (t, _), res in index.items() if t == kind]


def _by_id(index: Included, kind: str, ident: str) -> Mapping[str, Any] | None:
    return index.get((kind, ident))


def _build_invoice(
    resource: Mapping[str, Any],
    index: Included,
    r: _Reader,
    *,
    account: str,
    currency: str,
    raw: dict[str, Any],
    lone: bool,
) -> Invoice:
    """``lone``: the resource is the only one in its document, so when it has no
    ``relationships`` at all, the included resources can only belong to it."""
    a = _attributes(r, resource, "data")
    lone = lone and resource.get("relationships") is None
    rels = r.obj(resource, "relationships", "relationships")

    def related(name: str, kind: str) -> list[Mapping[str, Any]]:
        found = _related(r, rels, name, index)
        if found is None:
            return _by_type(index, kind) if lone else []
        return found

    def one(name: str, fallback_id: str) -> Mapping[str, Any] | None:
        found = _related(r, rels, name, index, must_resolve=True)
        if found is None:
            return _by_id(index, "customers", fallback_id) if lone else None
        return found[0] if found else None

    ident = r.ident(resource, "id", "id")
    if not ident:
        r.note("id is missing from the invoice.")
    status_text = r.text(a, "status")
    status = invoice_status(status_text) if status_text else "unknown"
    if status == "unknown":
        r.note(f"status: {show_value(a.get('status'))} is not a known invoice status; shown as unknown.")
    delivery_text = r.text(a, "delivery_type")
    delivery = _lookup(_DELIVERY_TYPES, delivery_text) or "unknown"
    if delivery == "unknown":
        r.note(f"delivery_type: {show_value(a.get('delivery_type'))} is not Buy Online or Click and Collect.")
    customer, shipping_address = _mp_customer(r, one("customer", "customer"), "customer")
    billing_customer, billing_address = _mp_customer(
        r, one("billing_customer", "billing_customer"), "billing_customer"
    )
    lines = tuple(
        _mp_line(r, res, f"line_items[{i}]") for i, res in enumerate(related("line_items", "line_items"))
    )
    shipments = tuple(
        _mp_shipment(r, res, f"shipments[{i}]") for i, res in enumerate(related("shipments", "shipments"))
    )
    total = r.money(a, "total", required=True)
    return Invoice(
        id=ident,
        account=account,
        created_at=r.when(a, "created_at"),
        paid_at=r.when(a, "paid_at"),
        updated_at=r.when(a, "updated_at"),
        ready_at=r.when(a, "ready_at"),
        collected_at=r.when(a, "collected_at"),
        status=status,
        delivery_type=delivery,
        currency=(currency or "").strip().upper(),
        subtotal=r.amount(a, "subtotal"),
        discount=r.amount(a, "discount"),
        total=ZERO if total is None else total,
        tax_total=r.amount(a, "tax_total"),
        postage=r.amount(a, "postage"),
        tax_inclusive=r.flag(a, "tax_inclusive", default=True),
        postage_tracking=_split(r.text(a, "postage_tracking")),
        postage_carrier=_split(r.text(a, "postage_carrier")),
        message_to_seller=r.text(a, "message_to_seller"),
        external_id=r.text(a, "external_id"),
        seller_id=r.ident(a, "seller_id"),
        lines=lines,
        customer=customer,
        shipping_address=shipping_address,
        billing_customer=billing_customer,
        billing_address=billing_address,
        shipments=shipments,
        raw=raw,
        problems=tuple(r.problems),
        total_known=total is not None,
    )


def _referenced(resource: Mapping[str, Any], index: Included) -> list[Mapping[str, Any]]:
    """The included resources ``resource``'s relationships point at, in document order."""
    rels = resource.get("relationships")
    if not isinstance(rels, Mapping):
        return []
    keys: dict[tuple[str, str], None] = {}
    for rel in rels.values():
        data = rel.get("data") if isinstance(rel, Mapping) else None
        for ref in data if isinstance(data, list) else [data]:
            if isinstance(ref, Mapping):
                key = _key(ref.get("type"), ref.get("id"))
                if key is not None and key in index:
                    keys.setdefault(key, None)
    return [index[k] for k in keys]


def _raw_for(resource: Mapping[str, Any], included: Any, index: Included) -> dict[str, Any]:
    """A one-invoice JSON:API document with what ``resource`` refers to, as sent: the cache
    keeps it and :func:`parse_invoice_document` rebuilds the same record from it."""
    raw: dict[str, Any] = {"data": resource}
    if isinstance(included, list):
        raw["included"] = _referenced(resource, index)
    elif included is not None:
        raw["included"] = included  # not a list: kept so the re-read flags it the same way
    return raw


def parse_invoice(
    resource: Any, included: Any, *, account: str, currency: str, endpoint: str = ""
) -> Invoice:
    """One invoice resource of a JSON:API document, resolved against ``included``.

    ``currency`` comes from the seller account: Marketplacer invoices do not carry one.
    """
    if not isinstance(resource, Mapping):
        raise _malformed(
            f"expected an invoice resource, got {_kind(resource)}.",
            service=_MP,
            account=account,
            endpoint=endpoint,
        )
    r = _Reader()
    index = _index(r, included)
    raw = _raw_for(resource, included, index)
    return _build_invoice(resource, index, r, account=account, currency=currency, raw=raw, lone=False)


def _document_parts(doc: Any, *, account: str, endpoint: str, what: str) -> tuple[Mapping[str, Any], Any]:
    if not isinstance(doc, Mapping):
        raise _malformed(
            f"expected a JSON:API document, got {_kind(doc)}.",
            service=_MP,
            account=account,
            endpoint=endpoint,
        )
    if "data" not in doc:
        raise _malformed(
            f"the JSON:API document has no 'data' ({what} expected).",
            service=_MP,
            account=account,
            endpoint=endpoint,
        )
    return doc, doc.get("included")


def parse_invoice_document(doc: Any, *, account: str, currency: str, endpoint: str = "") -> Invoice:
    """The invoice in a single-resource document (show, sent/ready/collected responses)."""
    doc, included = _document_parts(doc, account=account, endpoint=endpoint, what="an invoice")
    data = doc.get("data")
    if not isinstance(data, Mapping):
        raise _malformed(
            f"expected one invoice in 'data', got {_kind(data)}.",
            service=_MP,
            account=account,
            endpoint=endpoint,
        )
    r = _Reader()
    index = _index(r, included)
    return _build_invoice(data, index, r, account=account, currency=currency, raw=dict(doc), lone=True)


def _next_link(links: object) -> str | None:
    if not isinstance(links, Mapping):
        return None
    nxt = links.get("next")
    if isinstance(nxt, Mapping):  # JSON:API also allows a link object
        nxt = nxt.get("href")
    return nxt.strip() or None if isinstance(nxt, str) else None


def parse_invoice_page(
    doc: Any, *, account: str, currency: str, endpoint: str = ""
) -> tuple[list[Invoice], str | None]:
    """The invoices of one list page and the ``links.next`` URL (``None`` on the last page)."""
    doc, included = _document_parts(doc, account=account, endpoint=endpoint, what="a list of invoices")
    data = doc.get("data")
    if not isinstance(data, list):
        raise _malformed(
            f"expected a list of invoices in 'data', got {_kind(data)}.",
            service=_MP,
            account=account,
            endpoint=endpoint,
        )
    index_reader = _Reader()
    index = _index(index_reader, included)
    out: list[Invoice] = []
    for i, resource in enumerate(data):
        if not isinstance(resource, Mapping):
            raise _malformed(
                f"item {i} of the invoice list is {_kind(resource)}, not an invoice.",
                service=_MP,
                account=account,
                endpoint=endpoint,
            )
        r = _Reader()
        r.problems.extend(index_reader.problems)
        raw = _raw_for(resource, included, index)
        out.append(
            _build_invoice(resource, index, r, account=account, currency=currency, raw=raw, lone=False)
        )
    return out, _next_link(doc.get("links"))


def parse_shipments(doc: Any, *, account: str = "", endpoint: str = "") -> list[Shipment]:
    """Shipments from a shipments list (``data`` is a list) or one shipment (``data`` an object).

    Shipped items come from ``attributes.shipped_items`` or, for a single shipment, from the
    ``shipped_items`` resources in ``included`` (the docs give those no id to match by).
    """
    doc, included = _document_parts(doc, account=account, endpoint=endpoint, what="shipments")
    data = doc.get("data")
    resources = data if isinstance(data, list) else [data] if isinstance(data, Mapping) else None
    if resources is None:
        raise _malformed(
            f"expected shipments in 'data', got {_kind(data)}.",
            service=_MP,
            account=account,
            endpoint=endpoint,
        )
    r = _Reader()
    out: list[Shipment] = []
    for i, res in enumerate(resources):
        if not isinstance(res, Mapping):
            raise _malformed(
                f"item {i} of the shipment list is {_kind(res)}, not a shipment.",
                service=_MP,
                account=account,
                endpoint=endpoint,
            )
        shipment = _mp_shipment(r, res, f"shipments[{i}]")
        if not shipment.items and isinstance(data, Mapping) and isinstance(included, list):
            loose = [x for x in included if isinstance(x, Mapping) and x.get("type") == "shipped_items"]
            shipment = replace(shipment, items=_shipped_items(r, loose, "included.shipped_items"))
        out.append(shipment)
    return out
