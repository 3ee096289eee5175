"""What the detail pane shows for a Marketplacer invoice, as plain data (no Qt).

A marketplace invoice is already invoiced by the marketplace: staff need who receives and who
pays, the items, and how it travels (shipments with tracking, or a click-and-collect's dates).
"""

from __future__ import annotations

from invoicedesk.domain import Invoice
from invoicedesk.textsafe import capped
from invoicedesk.ui.details.markup import (
    Money,
    RecordView,
    Row,
    Tone,
    address_lines,
    amounts_html,
    cell,
    customer_html,
    esc,
    link,
    shipping_html,
    when_html,
)

INVOICE_TONES = {
    "paid": Tone.INFO,
    "partially_sent": Tone.WARNING,
    "ready": Tone.WARNING,
    "sent": Tone.SUCCESS,
    "collected": Tone.SUCCESS,
    "refunded": Tone.NEUTRAL,
    "cancelled": Tone.ERROR,
}


def invoice_view(inv: Invoice, money: Money) -> RecordView:
    """The whole pane for ``inv``."""
    billing = address_lines(inv.billing_address)
    collect = inv.delivery_type == "click_and_collect"
    return RecordView(
        icon="marketplacer",
        icon_tip="Marketplacer marketplace invoice",
        title=f"Invoice {capped(str(inv.id), 40)}",
        status=inv.status_label,
        status_tone=INVOICE_TONES.get(inv.status, Tone.NEUTRAL),
        meta=invoice_meta_html(inv),
        totals=invoice_totals_html(inv, money),
        customer=invoice_customer_html(inv),
        tax_flag=None,  # Marketplacer invoices carry no tax id; nothing to invoice here.
        billing=("<b>Billing address</b><br>" + "<br>".join(esc(x) for x in billing)) if billing else None,
        shipping=shipping_html(inv.shipping_address, inv.delivery_type, ""),
        items_title=f"Items ({len(inv.lines)})",
        items=invoice_item_rows(inv, money),
        preview=None,
        shipments_title="Collection" if collect else "Shipments",
        shipments=invoice_shipments_html(inv),
        documents=None,
    )


def invoice_meta_html(inv: Invoice) -> str:
    """Seller, delivery and date; marketplace order and currency; the customer's message."""
    meta = [
        f"Marketplacer seller <b>{esc(inv.account)}</b>",
        f"<b>{esc(inv.delivery_label)}</b>",
        f"paid {when_html(inv.paid_at)}" if inv.paid_at else f"created {when_html(inv.created_at)}",
    ]
    extra = []
    if inv.external_id:
        extra.append(f"Marketplace order {esc(inv.external_id)}")
    if inv.currency:
        extra.append(f"Currency: {esc(inv.currency)}")
    text = " · ".join(meta) + ("<br>" + " · ".join(extra) if extra else "")
    if inv.message_to_seller:
        text += f"<br>Message from the customer: <i>{esc(inv.message_to_seller)}</i>"
    return text


def invoice_totals_html(inv: Invoice, money: Money) -> str:
    """The invoice's money as the marketplace sent it."""
    cur = inv.currency
    rows: list[tuple[str, str, bool]] = [("Subtotal", money(inv.subtotal, cur), False)]
    if inv.discount:
        rows.append(("Discount", "−" + money(inv.discount, cur), False))
    if inv.postage:
        rows.append(("Postage", money(inv.postage, cur), False))
    tax_word = "Tax included" if inv.tax_inclusive else "Tax"
    rows.append((tax_word, money(inv.tax_total, cur), False))
    total = money(inv.total, cur) if inv.total_known else "not readable"
    rows.append(("Total", total, True))
    return amounts_html(rows)


def invoice_customer_html(inv: Invoice) -> str:
    """The customer (who receives) and the billing customer (who pays), when they differ."""
    parts = [customer_html(inv.customer, inv.customer.display_name)]
    b = inv.billing_customer
    same = (b.display_name, b.email) == (inv.customer.display_name, inv.customer.email)
    if not same and (b.display_name or b.email):
        parts.append("<b>Billed to</b><br>" + customer_html(b, b.display_name))
    return "<br><br>".join(parts)


def invoice_item_rows(inv: Invoice, money: Money) -> tuple[Row, ...]:
    """SKU, advert and variant, quantity, unit price and total of each line."""
    cur = inv.currency
    rows = []
    for line in inv.lines:
        name = " – ".join(p for p in (line.advert_name, line.variant_name) if p) or "(no name)"
        rows.append(
            (
                cell(line.sku),
                cell(name, tip=f"Barcode {line.barcode}" if line.barcode else ""),
                cell(str(line.quantity), money=True),
                cell(money(line.price, cur), money=True),
                cell(money(line.total, cur), money=True),
            )
        )
    return tuple(rows)


def invoice_shipments_html(inv: Invoice) -> str:
    """Collection dates, each shipment with its items and tracking, or the postage tracking."""
    parts = []
    if inv.delivery_type == "click_and_collect":
        parts.append(f"Ready for collection: {when_html(inv.ready_at) if inv.ready_at else 'not yet'}")
        parts.append(f"Collected: {when_html(inv.collected_at) if inv.collected_at else 'not yet'}")
    names = {line.id: line.advert_name or line.sku for line in inv.lines}
    for ship in inv.shipments:
        head = f"<b>Shipment {esc(ship.id)}</b>" if ship.id else "<b>Shipment</b>"
        bits = [head]
        if ship.dispatched_at:
            bits.append(f"dispatched {when_html(ship.dispatched_at)}")
        if ship.carrier:
            bits.append(esc(ship.carrier))
        if ship.tracking_number or ship.tracking_link:
            bits.append("tracking " + link(ship.tracking_link, ship.tracking_number or "link"))
        line = " · ".join(bits)
        if ship.items:
            items = ", ".join(f"{qty} × {names.get(lid, 'item ' + lid)}" for lid, qty in ship.items)
            line += f"<br>&nbsp;&nbsp;{esc(items)}"
        if ship.note:
            line += f"<br>&nbsp;&nbsp;Note: {esc(ship.note)}"
        parts.append(line)
    if not inv.shipments and inv.postage_tracking:
        carriers = list(inv.postage_carrier)
        for i, number in enumerate(inv.postage_tracking):
            carrier = carriers[i] if i < len(carriers) else ""
            parts.append(f"Tracking {esc(number)}" + (f" ({esc(carrier)})" if carrier else ""))
    if not parts:
        parts.append("Not dispatched yet." if inv.delivery_type == "buy_online" else "No shipments.")
    return "<br>".join(parts)
