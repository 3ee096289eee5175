"""The detail pane, as shop staff read it: real payloads from the reference docs and the sandbox."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace

import httpx
import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor

from invoicedesk.cache import Cache
from invoicedesk.domain import Invoice, Order, parse_documents, parse_invoice_document, parse_order
from invoicedesk.rules import format_money, invoice_preview
from invoicedesk.ui.detail_pane import PLACEHOLDER, DetailPane
from invoicedesk.ui.palette import tones
from tests.fixtures import FIXTURES

REFERENCE = FIXTURES


def _reference_order() -> Order:
    body = json.loads((REFERENCE / "jumpseller" / "order-1026-docs-example.json").read_text())
    return parse_order(body, account="demo-store")


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


@pytest.fixture
def pane(qtbot):
    """A pane that records the links it would open instead of launching a browser."""
    opened: list[QUrl] = []
    widget = DetailPane(url_opener=opened.append)
    widget.opened = opened
    widget.resize(480, 700)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture(scope="module")
def store_orders(sandbox_session) -> list[Order]:
    """Every order of the English demo store, as the Jumpseller API sends them."""
    sb = sandbox_session
    login = sb.stores[0].login
    return [parse_order(o, account=login) for o in sb.truth_orders(login)]


def _with_documents(sb, order: Order) -> Order:
    """The order with its documents read over HTTP from the sandbox's documents endpoint."""
    store = sb.stores[0]
    r = httpx.get(
        f"{sb.jumpseller_url}/orders/{order.id}/documents.json", auth=(store.login, store.token), timeout=5
    )
    r.raise_for_status()
    return replace(order, documents=tuple(parse_documents(r.json(), account=store.login)))


def _invoice(sb, invoice_id: str) -> Invoice:
    seller = sb.sellers[0]
    r = httpx.get(
        f"{sb.marketplacer_url}/api/v2/client/invoices/{invoice_id}",
        headers={"Authorization": f"Bearer {seller.api_key}"},
        timeout=5,
    )
    r.raise_for_status()
    return parse_invoice_document(r.json(), account=seller.name, currency=seller.currency)


def _settled(qtbot, pane: DetailPane) -> None:
    """Wait until the content's layout holds every label at its full wrapped height."""

    def done() -> bool:
        labels = [pane.tax_flag, pane.billing, pane.shipping, pane.preview_notes, pane.unknown_banner]
        return all(
            lab.isHidden() or lab.height() >= lab.heightForWidth(lab.width()) for lab in labels if lab.width()
        )

    qtbot.waitUntil(done, timeout=2000)


# ----------------------------------------------------------------------------- reference order


def test_nothing_selected_shows_a_friendly_placeholder(pane) -> None:
    assert pane.placeholder.isVisible()
    assert PLACEHOLDER in pane.placeholder.text()
    pane.show_record(_reference_order(), [])
    assert not pane.placeholder.isVisible()
    pane.show_record(None, [])
    assert pane.placeholder.isVisible()
    assert pane.record is None


def test_docs_order_1026_shows_header_customer_items_and_preview(pane, qtbot, tmp_path) -> None:
    order = _reference_order()
    pane.show_record(order, [])
    _settled(qtbot, pane)

    assert pane.title.text() == "Order 1026"
    assert pane.status_chip.text() == "Pending payment"
    assert "demo-store" in pane.meta.text()
    assert format_money(order.total, "USD") == "$369.20"
    assert "$369.20" in pane.totals.text() and "−$79.80" in pane.totals.text()

    # No tax id and no company: flagged, but as the mild, private-customer case.
    assert not pane.tax_flag.isHidden()
    assert "Tax ID missing" in pane.tax_flag.text()
    assert "private customer" in pane.tax_flag.text()
    assert "John Mattos" in pane.customer.text()
    assert "Colliers Wood" in pane.shipping.text() and "5000 London" in pane.shipping.text()

    assert pane.lines_table.rowCount() == len(order.lines) == 1
    assert pane.lines_table.item(0, 0).text() == "black"
    assert pane.lines_table.item(0, 3).text() == "$399.00"
    assert pane.lines_table.item(0, 4).text() == "$319.20"  # after the $79.80 discount

    preview = invoice_preview(order)
    assert pane.preview is not None and pane.preview.total == preview.total
    assert pane.preview_table.rowCount() == len(preview.lines)
    assert f"<b>{format_money(preview.total, 'USD')}</b>" in pane.preview_totals.text()
    assert "only paid orders are invoiced" in pane.preview_intro.text()
    assert pane.notes_section.isHidden()  # the reference order reads cleanly

    assert pane.history_table.isHidden() and not pane.history_empty.isHidden()
    assert not pane.grab().isNull()
    pane._scroll.widget().grab().save(str(tmp_path / "order-1026.png"))


def test_data_notes_list_what_the_parser_flagged(pane) -> None:
    body = json.loads((REFERENCE / "jumpseller" / "order-1026-docs-example.json").read_text())
    odd = copy.deepcopy(body)
    odd["order"]["subtotal"] = "three hundred"
    order = parse_order(odd, account="demo-store")
    assert order.problems
    pane.show_record(order, [])
    assert not pane.notes_section.isHidden()
    assert "subtotal" in pane.data_notes.text()


def test_text_from_a_payload_is_shown_as_text_never_as_markup(pane) -> None:
    body = json.loads((REFERENCE / "jumpseller" / "order-1026-docs-example.json").read_text())
    odd = copy.deepcopy(body)
    odd["order"]["customer"]["fullname"] = '<a href="file:///etc/passwd">Bob</a>'
    pane.show_record(parse_order(odd, account="demo-store"), [])
    assert "&lt;a href=" in pane.customer.text()
    assert not _hrefs(pane.customer.text())


def test_a_company_in_the_billing_address_counts_as_a_business(pane) -> None:
    """The invoicing service refuses those too, so the flag must be the prominent one."""
    body = json.loads((REFERENCE / "jumpseller" / "order-1026-docs-example.json").read_text())
    odd = copy.deepcopy(body)
    odd["order"]["billing_address"]["company"] = "Nok Ltd"
    pane.show_record(parse_order(odd, account="demo-store"), [])
    assert pane.tax_flag.accessibleName() == "Tax ID missing for a business customer"
    assert "(Nok Ltd)" in pane.tax_flag.text()


# ----------------------------------------------------------------------------- sandbox orders


def test_business_customer_without_tax_id_is_flagged_prominently(pane, store_orders) -> None:
    order = next(o for o in store_orders if o.is_business and not o.customer.tax_id)
    pane.show_record(order, [])
    text = pane.tax_flag.text()
    assert "Tax ID missing" in text and order.customer.company_name in text
    assert "refuses" in text
    assert pane.tax_flag.accessibleName() == "Tax ID missing for a business customer"
    assert "border-left" in pane.tax_flag.styleSheet()  # the strong (red, barred) box

    with_id = next(o for o in store_orders if o.is_business and o.customer.tax_id)
    pane.show_record(with_id, [])
    assert "Tax ID missing" not in pane.tax_flag.text()
    assert with_id.customer.tax_id in pane.tax_flag.text()
    assert pane.tax_flag.styleSheet() == ""


def test_redeemed_gift_cards_are_noted_and_gift_card_lines_marked(
    pane, qtbot, store_orders, tmp_path
) -> None:
    order = next(o for o in store_orders if o.has_gift_cards and o.has_gift_card_products)
    pane.show_record(order, [])
    _settled(qtbot, pane)
    preview = invoice_preview(order)
    cur = order.currency

    assert pane.lines_table.rowCount() == len(order.lines)
    gift_rows = [
        r
        for r in range(pane.lines_table.rowCount())
        if "Gift card · 0% VAT" in pane.lines_table.item(r, 1).text()
    ]
    assert len(gift_rows) == sum(line.is_gift_card for line in order.lines) > 0

    totals = pane.preview_totals.text()
    assert f"<b>{format_money(preview.total, cur)}</b>" in totals
    assert "Paid with gift cards" in totals and format_money(preview.amount_due, cur) in totals
    assert any(n.startswith("Gift card redeemed") for n in preview.notes)
    for note in preview.notes:
        assert note in pane.preview_notes.text()
    assert not pane.preview_notes.isHidden()
    vat_cells = [pane.preview_table.item(r, 3).text() for r in range(pane.preview_table.rowCount())]
    assert [c for c, line in zip(vat_cells, preview.lines, strict=True) if line.is_gift_card] == ["0%"] * len(
        gift_rows
    )
    pane._scroll.widget().grab().save(str(tmp_path / "gift-cards.png"))


def test_document_link_is_announced_then_opened(pane, sandbox_session, store_orders) -> None:
    order = next(
        o
        for o in (_with_documents(sandbox_session, o) for o in store_orders if o.status == "paid")
        if o.documents
    )
    pane.show_record(order, [])
    doc = order.documents[0]
    links = _hrefs(pane.documents.text())
    assert links == [d.url for d in order.documents if d.url]
    assert doc.public_id in pane.documents.text()
    assert "Already invoiced as" in pane.preview_intro.text()

    seen: list[str] = []
    pane.urlActivated.connect(seen.append)
    pane.documents.linkActivated.emit(links[0])  # what QLabel emits when staff click the link
    assert seen == [doc.url]
    assert pane.opened == [QUrl(doc.url)]

    pane.open_url("javascript:alert(1)")  # never opened, whatever a payload says
    assert seen[-1] == "javascript:alert(1)" and len(pane.opened) == 1


def test_order_tracking_number_links_to_the_carrier(pane, store_orders) -> None:
    order = next(o for o in store_orders if o.tracking_url and o.tracking_number)
    pane.show_record(order, [])
    assert _hrefs(pane.shipments.text()) == [order.tracking_url]
    assert order.tracking_number in pane.shipments.text()


def test_unknown_outcome_is_highlighted_with_what_to_do(pane, qtbot, tmp_path, store_orders) -> None:
    order = next(o for o in store_orders if o.status == "paid")
    cache = Cache(tmp_path / "cache.sqlite3")
    try:
        failed = cache.journal_begin("jumpseller", order.account, str(order.id), "invoice", {})
        cache.journal_update(
            failed, state="failed", message="Customer tax ID is required for invoice generation"
        )
        lost = cache.journal_begin("jumpseller", order.account, str(order.id), "invoice", {})
        cache.journal_update(lost, state="unknown", message="No answer from the invoicing service")
        history = cache.journal(record_id=str(order.id))
    finally:
        cache.close()

    pane.show_record(order, history)
    _settled(qtbot, pane)
    assert not pane.unknown_banner.isHidden()
    banner = pane.unknown_banner.text()
    assert "Outcome unknown" in banner and f"order {order.id}" in banner
    assert "Retry only if there is none" in banner

    table = pane.history_table
    assert table.rowCount() == 2
    states = [table.item(r, 2).text() for r in range(2)]
    unknown_row = next(r for r, s in enumerate(states) if "Outcome unknown" in s)
    unknown_bg = QColor(tones(pane.palette()).warning_bg)
    assert table.item(unknown_row, 0).background().color() == unknown_bg
    assert table.item(unknown_row, 2).font().bold()
    other = 1 - unknown_row
    assert table.item(other, 0).background().color() != unknown_bg
    assert "Customer tax ID is required" in states[other]

    pane.show_record(order, [e for e in history if e.state != "unknown"])
    assert pane.unknown_banner.isHidden()
    pane._scroll.widget().grab().save(str(tmp_path / "history.png"))


# ----------------------------------------------------------------------------- sandbox invoices


def test_marketplacer_invoice_shows_items_and_shipment_tracking(pane, sandbox_session, tmp_path) -> None:
    sb = sandbox_session
    ids = [str(r["id"]) for r in sb.truth_invoices(sb.sellers[0].name)]
    invoice = next(
        inv
        for inv in (_invoice(sb, i) for i in ids)
        if inv.shipments and any(s.tracking_link for s in inv.shipments)
    )
    pane.show_record(invoice, [])

    assert pane.title.text() == f"Invoice {invoice.id}"
    assert invoice.delivery_label in pane.meta.text()
    assert format_money(invoice.total, invoice.currency) in pane.totals.text()
    assert pane.lines_table.rowCount() == len(invoice.lines) > 0
    links = _hrefs(pane.shipments.text())
    assert links == [s.tracking_link for s in invoice.shipments if s.tracking_link]
    for ship in invoice.shipments:
        assert ship.tracking_number in pane.shipments.text()
    # Invoicing rules and documents belong to store orders, not marketplace invoices.
    assert pane.preview_section.isHidden() and pane.documents_section.isHidden()
    assert pane.tax_flag.isHidden()
    pane._scroll.widget().grab().save(str(tmp_path / "invoice.png"))


def test_documents_show_the_app_that_made_them_and_an_unreadable_type(pane, store_orders) -> None:
    from invoicedesk.domain import Document

    order = next(o for o in store_orders if o.status == "paid")
    docs = (
        Document(public_id="OB-1", url="https://billing.example.com/OB-1", document_type=1, app_code="other-billing"),
        Document(public_id="RCPT-7", document_type=-1, app_code="pos-app", type_text="7 - receipt"),
    )
    pane.show_record(replace(order, documents=docs), [])
    text = pane.documents.text()
    assert "made by other-billing" in text and "made by pos-app" in text
    assert "Document of unknown type (7 - receipt)" in text
    assert "Already invoiced as" in pane.preview_intro.text()
