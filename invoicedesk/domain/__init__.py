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

The package, one module per concern:
- :mod:`.values`: status and label tables, date reading, the field reader and its problems;
- :mod:`.records`: the frozen records, their summaries and :func:`record_key`;
- :mod:`.jumpseller`: orders and documents; :mod:`.marketplacer`: invoices and shipments.
Each imports only the ones listed before it. Callers import from ``invoicedesk.domain``.
"""

from __future__ import annotations

from invoicedesk.domain.jumpseller import parse_documents, parse_order, parse_orders
from invoicedesk.domain.marketplacer import (
    parse_invoice,
    parse_invoice_document,
    parse_invoice_page,
    parse_shipments,
)
from invoicedesk.domain.records import (
    Address,
    Customer,
    Document,
    Invoice,
    InvoiceLine,
    Key,
    Order,
    OrderLine,
    Shipment,
    Source,
    Summary,
    record_key,
)
from invoicedesk.domain.values import (
    DELIVERY_LABELS,
    INVOICE_STATUS_LABELS,
    ORDER_STATUS_LABELS,
    SHIPMENT_STATUS_LABELS,
    document_kind,
    invoice_status,
    order_status,
    parse_datetime,
    shipment_status,
    to_datetime,
)

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
    "Key",
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
    "record_key",
    "shipment_status",
    "to_datetime",
]
