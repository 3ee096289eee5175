"""Marketplacer's invoices and shipments (JSON:API documents) read into records.

Related line items, customers and shipments sit in ``included`` and are matched by
``(type, id)``, with ids compared as strings (the same id arrives as ``1`` and as ``"1"``); a key
that occurs twice with different content is never resolved (see :class:`Included`). Money comes
as strings, dates as ISO 8601 with offsets, and no currency: it comes from the seller account.
The parsers raise only :class:`~invoicedesk.errors.MalformedResponseError`, and only when a
payload is not even a JSON:API document of the expected kind; anything smaller becomes a problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from invoicedesk.domain.records import Address, Customer, Invoice, InvoiceLine, Shipment
from invoicedesk.domain.values import (
    _DELIVERY_TYPES,
    ZERO,
    _kind,
    _lookup,
    _malformed,
    _Reader,
    invoice_status,
)
from invoicedesk.money import show_value

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
