"""What the detail pane shows for a Jumpseller order, as plain data (no Qt).

Besides what the store sent (header, customer, addresses, items, shipment, documents), an
order gets the invoice the rules would produce *before* anyone clicks Create Invoice, and a box
about the customer's tax id: the invoicing service refuses a business without one.
"""

from __future__ import annotations

import logging

from invoicedesk.domain import ORDER_STATUS_LABELS, SHIPMENT_STATUS_LABELS, Order
from invoicedesk.money import UNSHOWN
from invoicedesk.rules import invoice_preview, line_totals
from invoicedesk.textsafe import capped
from invoicedesk.ui.details.markup import (
    Cell,
    Mark,
    Money,
    Notice,
    PreviewView,
    RecordView,
    Row,
    Tone,
    address_lines,
    amounts_html,
    bullets,
    cell,
    customer_html,
    esc,
    is_web_url,
    link,
    marked,
    shipping_html,
    when_html,
)

log = logging.getLogger(__name__)

ORDER_TONES = {
    "paid": Tone.SUCCESS,
    "pending_payment": Tone.WARNING,
    "canceled": Tone.ERROR,
    "abandoned": Tone.NEUTRAL,
}


def order_view(order: Order, money: Money) -> RecordView:
    """The whole pane for ``order``."""
    label = ORDER_STATUS_LABELS.get(order.status, order.status_label or order.status)
    if order.status_label and order.status_label.lower() != label.lower():
        label = f"{label} ({order.status_label})"
    billing = address_lines(order.billing_address)
    return RecordView(
        icon="jumpseller",
        icon_tip="Jumpseller web store order",
        title=f"Order {capped(str(order.id), 40)}",
        status=label,
        status_tone=ORDER_TONES.get(order.status, Tone.NEUTRAL),
        meta=order_meta_html(order),
        totals=order_totals_html(order, money),
        customer=customer_html(order.customer, order.customer_name),
        tax_flag=tax_id_notice(order),
        billing="<b>Billing address</b><br>"
        + ("<br>".join(esc(x) for x in billing) if billing else "Not given."),
        shipping=shipping_html(order.shipping_address, order.shipping_option, order.shipping_method_name),
        items_title=f"Items ({len(order.lines)})",
        items=order_item_rows(order, money),
        preview=preview_view(order, money),
        shipments_title="Shipment",
        shipments=order_shipment_html(order),
        documents=documents_html(order),
    )


def order_meta_html(order: Order) -> str:
    """Store and dates, then payment method and currency."""
    meta = [f"Jumpseller store <b>{esc(order.account)}</b>", f"ordered {when_html(order.created_at)}"]
    if order.completed_at:
        meta.append(f"completed {when_html(order.completed_at)}")
    extra = []
    if order.payment_method_name:
        extra.append(f"Payment: {esc(order.payment_method_name)}")
    if order.currency:
        extra.append(f"Currency: {esc(order.currency)}")
    return " · ".join(meta) + ("<br>" + " · ".join(extra) if extra else "")


def order_totals_html(order: Order, money: Money) -> str:
    """The order's money as the store sent it."""
    cur = order.currency
    rows: list[tuple[str, str, bool]] = [("Subtotal", money(order.subtotal, cur), False)]
    if order.discount:
        rows.append(("Discount", "−" + money(order.discount, cur), False))
    if order.shipping or order.shipping_discount:
        rows.append(("Shipping", money(order.shipping - order.shipping_discount, cur), False))
    rows.append(("Tax", money(order.tax + order.shipping_tax, cur), False))
    if order.gift_cards_amount:
        rows.append(("Paid with gift cards", "−" + money(order.gift_cards_amount, cur), False))
    total = money(order.total, cur) if order.total_known else "not readable"
    rows.append(("Total", total, True))
    return amounts_html(rows)


def tax_id_notice(order: Order) -> Notice:
    """The customer's tax id, or why its absence matters (a strong red box for a business)."""
    c = order.customer
    # The invoicing service counts a company in the billing address as a business too,
    # not only billing_information.company_name (what Order.is_business looks at).
    company = c.company_name.strip() or order.billing_address.company.strip()
    if c.tax_id:
        return Notice(f"Tax ID: <b>{esc(c.tax_id)}</b>", "Tax ID")
    if company:
        return Notice(
            "<b>Tax ID missing</b> — this is a business customer "
            f"({esc(company)}), and the invoicing service refuses to invoice a business "
            "without a tax ID. Ask the customer for it and add it to the order's billing address "
            "in Jumpseller, then sync before creating the invoice.",
            "Tax ID missing for a business customer",
            Tone.ERROR,
            strong=True,
        )
    return Notice(
        "<b>Tax ID missing</b> — fine for a private customer; a business customer would need one.",
        "Tax ID missing",
        Tone.WARNING,
    )


def order_item_rows(order: Order, money: Money) -> tuple[Row, ...]:
    """SKU, item, quantity, unit price and total of each line; gift-card lines marked."""
    cur = order.currency
    rows = []
    # Line totals come from the invoice rules (rounded as the invoice rounds); a line with
    # an unusable amount or quantity shows a dash there, never a placeholder 0.
    for line, total in zip(order.lines, line_totals(order), strict=True):
        unusable = set(line.unusable)
        name = line.name or "(no name)"
        options = ", ".join(f"{k}: {v}" if k else v for k, v in line.options)
        if options:
            name += f" ({options})"
        tip = ""
        if line.discount:
            name += f"\nDiscount {money(line.discount, cur)} each"
        if line.is_gift_card:
            name += "\nGift card · 0% VAT"
            tip = "A gift card product: invoiced at 0% VAT."
        row: Row = (
            cell(line.sku),
            cell(name, tip=tip),
            cell(UNSHOWN if "qty" in unusable else str(line.qty), money=True),
            cell(UNSHOWN if "price" in unusable else money(line.price, cur), money=True),
            cell(UNSHOWN if total is None else money(total, cur), money=True),
        )
        rows.append(marked(row, Mark.GIFT_CARD) if line.is_gift_card else row)
    return tuple(rows)


def preview_view(order: Order, money: Money) -> PreviewView:
    """The invoice Create Invoice would make now (or, once invoiced, the lines the rules give)."""
    try:
        preview = invoice_preview(order)
    except Exception:  # one odd order must not take the whole pane down
        log.exception("Invoice preview failed for order %s", order.id)
        return PreviewView(None, "The invoice preview could not be worked out for this order.")
    cur = preview.currency
    doc = order.invoice if order.is_invoiced else None
    if doc is not None:
        intro = (
            f"Already invoiced as <b>{esc(doc.public_id or 'an invoice')}</b>. "
            "These are the lines the invoice rules give for the order as it is now."
        )
    elif order.status == "paid":
        intro = "What the invoice will say if you create it now."
    else:
        status = ORDER_STATUS_LABELS.get(order.status, order.status).lower()
        intro = f"What the invoice would say. The order is {esc(status)}: only paid orders are invoiced."
    how = "Prices include VAT." if preview.prices_include_tax else "Prices exclude VAT."
    rows = []
    for line in preview.lines:
        name = line.name or line.sku or "(no name)"
        if line.is_gift_card:
            name += " (gift card)"
        row: tuple[Cell, ...] = (
            cell(name, tip=f"SKU {line.sku}" if line.sku else ""),
            cell(str(line.qty), money=True),
            cell(money(line.net, cur), money=True),
            cell(f"{line.vat_percent:f}%", money=True),
            cell(money(line.vat, cur), money=True),
            cell(money(line.gross, cur), money=True),
        )
        rows.append(marked(row, Mark.GIFT_CARD) if line.is_gift_card else row)
    totals: list[tuple[str, str, bool]] = [("Net", money(preview.subtotal, cur), False)]
    if preview.shipping:
        totals.append(("Shipping", money(preview.shipping, cur), False))
    if preview.discount:
        totals.append(("Discount", "−" + money(preview.discount, cur), False))
    totals.append(("VAT", money(preview.vat_total, cur), False))
    totals.append(("Invoice total", money(preview.total, cur), True))
    if preview.gift_cards_amount:
        totals.append(("Paid with gift cards", "−" + money(preview.gift_cards_amount, cur), False))
        totals.append(("Paid otherwise", money(preview.amount_due, cur), False))
    return PreviewView(
        preview,
        f"{intro} {how} VAT is rounded item by item.",
        tuple(rows),
        amounts_html(totals),
        bullets(preview.notes),
    )


def order_shipment_html(order: Order) -> str:
    """Shipment status, fulfilment and tracking (a link when the store gave one)."""
    status = SHIPMENT_STATUS_LABELS.get(order.shipment_status, order.shipment_status)
    parts = [f"Status: <b>{esc(status)}</b>"]
    if order.fulfillment_status:
        parts.append(f"Fulfilment: {esc(order.fulfillment_status)}")
    number = order.tracking_number
    if number or order.tracking_url:
        shown = number or "Track the parcel"
        carrier = f" ({esc(order.tracking_company)})" if order.tracking_company else ""
        parts.append(f"Tracking: {link(order.tracking_url, shown)}{carrier}")
    else:
        parts.append("No tracking number yet.")
    return "<br>".join(parts)


def documents_html(order: Order) -> str:
    """Each invoice or credit note attached to the order: number, date, maker, link."""
    if not order.documents:
        return "No invoice or credit note attached to this order yet."
    parts = []
    for doc in order.documents:
        kind = "Invoice" if doc.is_invoice else "Credit note" if doc.is_credit_note else "Document"
        if doc.is_unreadable:
            kind = f"Document of unknown type ({esc(doc.type_text or '?')})"
        ident = doc.public_id or doc.external_id or "(no number)"
        dated = f" · {when_html(doc.created_at)}" if doc.created_at else ""
        if is_web_url(doc.url):
            opener = f" · {link(doc.url, 'Open ' + kind.lower())}"
        elif doc.url:
            opener = f" · {esc(doc.url)}"
        else:
            opener = " · no link"
        made_by = f" · made by {esc(doc.app_code)}" if doc.app_code else ""
        parts.append(f"<b>{kind}</b> {esc(ident)}{dated}{made_by}{opener}")
    return "<br>".join(parts)
