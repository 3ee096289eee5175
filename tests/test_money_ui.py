"""Staff select an order whose amounts are past the bounds: the pane shows it, with dashes
where a number cannot be trusted, instead of a crash dialog."""

from __future__ import annotations

import json

import pytest

from invoicedesk.domain import Order, parse_order
from invoicedesk.ui.detail_pane import DetailPane


def _order(*products: dict[str, object], total: float) -> Order:
    body = {"order": {"id": 77, "status_enum": "paid", "currency": "USD", "total": total, "products": list(products)}}
    return parse_order(json.loads(json.dumps(body)), account="demo-store")


@pytest.fixture
def pane(qtbot):
    widget = DetailPane(url_opener=lambda url: None)
    widget.resize(480, 700)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_staff_select_the_ci_counterexample_order_and_see_why_it_is_odd(pane: DetailPane) -> None:
    """9988985783758721 units at 11005116296860: the line total was computed in the widget,
    in the GUI thread's 28-digit context, and formatting it raised InvalidOperation."""
    order = _order(
        {"sku": "HUGE", "name": "Huge", "qty": 9988985783758721, "price": 11005116296860},
        {"sku": "MUG", "name": "Mug", "qty": 2, "price": 5.0},
        total=306.63,
    )
    pane.show_record(order, [])
    table = pane.lines_table
    assert table.rowCount() == 2
    assert (table.item(0, 2).text(), table.item(0, 3).text(), table.item(0, 4).text()) == (
        "—",
        "$11,005,116,296,860.00",
        "—",
    )
    assert (table.item(1, 2).text(), table.item(1, 4).text()) == ("2", "$10.00")
    assert pane.notes_section.isVisibleTo(pane)
    assert "9988985783758721 is not a plausible quantity" in pane.data_notes.text()
    assert "Not usable as sent: products[0].qty" in pane.preview_notes.text()


def test_the_items_table_shows_the_line_total_the_invoice_will_carry(pane: DetailPane) -> None:
    """0.333 a unit is invoiced as 0.33 a unit: three come to $0.99 on the invoice, and the
    items table says the same (it used to multiply the raw price and show $1.00)."""
    order = _order({"sku": "PIN", "name": "Pin", "qty": 3, "price": 0.333}, total=0.99)
    pane.show_record(order, [])
    assert pane.lines_table.item(0, 4).text() == "$0.99"
