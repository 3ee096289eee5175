"""Jumpseller's orders and documents (invoices, credit notes) read into records.

Jumpseller answers in snake_case JSON with money as floats, translated status texts beside
``*_enum`` fields (the enum wins) and dates like ``"2023-02-10 13:56:35 UTC"``. The parsers raise
only :class:`~invoicedesk.errors.MalformedResponseError`, and only when a payload is not even
shaped like an order or a document list; anything smaller becomes a problem on the record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from invoicedesk.domain.records import Address, Customer, Document, Order, OrderLine
from invoicedesk.domain.values import (
    INVOICE_DOCUMENT,
    ZERO,
    _kind,
    _malformed,
    _Reader,
    document_kind,
    order_status,
    shipment_status,
)
from invoicedesk.money import show_value

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

    A missing ``document_type`` means an invoice (the endpoint's default); the documented strings
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
