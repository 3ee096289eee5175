"""The records InvoiceDesk works with: frozen dataclasses, and the identity of a record.

No Qt and no parsing here (:mod:`.jumpseller` and :mod:`.marketplacer` build these records from
payloads). Every record keeps ``raw`` (the payload exactly as the service sent it) and
``problems`` (one human sentence per field that was unexpected and left at a default);
``summary()`` gives the row the combined list shows, and :func:`record_key` what a record is
across refreshes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from invoicedesk.domain.values import (
    CREDIT_NOTE_DOCUMENT,
    DELIVERY_LABELS,
    INVOICE_DOCUMENT,
    INVOICE_STATUS_LABELS,
    ORDER_STATUS_LABELS,
    ZERO,
)


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


Key = tuple[str, str, str]  # (source, account, record id): what a record is, across refreshes


def record_key(summary: Summary) -> Key:
    return (summary.source.value, summary.account, summary.id)


def _search_text(*parts: str) -> str:
    """The parts, lower-cased, each once (the billing email is mostly the customer's, a SKU
    on several lines is one SKU): the trigram index and each search read it all."""
    words = dict.fromkeys(p.strip().lower() for p in parts)
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
    :func:`~invoicedesk.domain.parse_invoice_document` rebuilds the same record from it.
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
