"""What the detail pane says, worked out without a window: the Qt-free builders in ui/details."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from invoicedesk.cache import JournalEntry
from invoicedesk.domain import Address, Customer, Document, Invoice, InvoiceLine, Order, OrderLine
from invoicedesk.ui.details.history import history_view, unknown_outcome_advice
from invoicedesk.ui.details.invoice import invoice_view
from invoicedesk.ui.details.markup import (
    Mark,
    Money,
    Tone,
    address_lines,
    amounts_html,
    esc,
    is_web_url,
    link,
    when,
)
from invoicedesk.ui.details.order import order_view, tax_id_notice

QT_FREE = (
    "invoicedesk.ui.details.markup",
    "invoicedesk.ui.details.order",
    "invoicedesk.ui.details.invoice",
    "invoicedesk.ui.details.history",
)

MONEY = Money("en_US")
AT = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def _order(**fields: object) -> Order:
    tee = OrderLine(sku="TEE", name="Tee", qty=2, price=Decimal("20.00"), tax_rate=Decimal(19))
    base: dict[str, object] = {
        "id": 1001,
        "account": "demo-store",
        "currency": "USD",
        "status": "paid",
        "created_at": AT,
        "lines": (tee,),
        "subtotal": Decimal("40.00"),
        "tax": Decimal("7.60"),
        "total": Decimal("47.60"),
        "customer": Customer(fullname="Ana Pérez", email="ana@example.com"),
    }
    return Order(**{**base, **fields})  # type: ignore[arg-type]


def _entry(state: str, *, action: str = "invoice", message: str = "", minute: int = 0) -> JournalEntry:
    at = AT.replace(minute=minute)
    return JournalEntry(
        id=minute,
        source="jumpseller",
        account="demo-store",
        record_id="1001",
        action=action,
        state=state,
        step="",
        request={},
        result={},
        message=message,
        created_at=at,
        updated_at=at,
    )


def test_the_builders_import_no_qt() -> None:
    """They run (and are tested) without a display, like the core."""
    code = (
        "import importlib, sys\n"
        f"for m in {QT_FREE!r}:\n"
        "    importlib.import_module(m)\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


# ----------------------------------------------------------------------------- text


def test_payload_text_is_escaped_and_capped() -> None:
    assert esc('<a href="x">Bob</a>') == "&lt;a href=&quot;x&quot;&gt;Bob&lt;/a&gt;"
    assert len(esc("x" * 10_000_000)) < 20_000


@pytest.mark.parametrize(
    ("url", "web"),
    [
        ("https://shop.example.com/orders/1", True),
        (" http://example.com ", True),
        ("javascript:alert(1)", False),
        ("file:///etc/passwd", False),
        ("https://", False),
        ("https://exa mple.com/", False),
        ('https://example.com/"onclick', False),
        ("https://example.com:port/", False),
        ("", False),
    ],
)
def test_only_web_addresses_become_links(url: str, web: bool) -> None:
    assert is_web_url(url) is web
    assert ("<a href=" in link(url, "Open")) is web


def test_a_date_reads_as_staff_write_it() -> None:
    assert when(None) == "—"
    local = AT.astimezone()
    assert when(AT) == f"{local.day} {local:%b %Y, %H:%M}"


def test_amounts_align_and_the_strong_one_is_bold() -> None:
    out = amounts_html([("Subtotal", "$1.00", False), ("Total", "$2.00", True)])
    assert "<b>Total</b>" in out and "<b>$2.00</b>" in out and "<b>Subtotal</b>" not in out
    assert out.count('align="right"') == 2


def test_an_address_leaves_out_empty_parts() -> None:
    addr = Address(name="Ana", surname="Pérez", address="Calle", street_number="5", city="Talca")
    assert address_lines(addr) == ["Ana Pérez", "Calle 5", "Talca"]


# ----------------------------------------------------------------------------- orders


def test_a_paid_order_reads_as_paid_with_its_invoice_preview() -> None:
    view = order_view(_order(), MONEY)
    assert view.title == "Order 1001" and view.status == "Paid" and view.status_tone is Tone.SUCCESS
    assert view.icon == "jumpseller"
    assert "<b>$47.60</b>" in view.totals
    assert view.preview is not None and view.preview.preview is not None
    assert view.preview.intro.startswith("What the invoice will say if you create it now.")
    assert [c.text for c in view.items[0]] == ["TEE", "Tee", "2", "$20.00", "$40.00"]
    assert view.documents == "No invoice or credit note attached to this order yet."


def test_the_tax_id_box_says_how_much_its_absence_matters() -> None:
    private = tax_id_notice(_order())
    assert private.tone is Tone.WARNING and not private.strong
    business = tax_id_notice(_order(customer=Customer(fullname="Bo", company_name="Nok Ltd")))
    assert business.tone is Tone.ERROR and business.strong
    assert business.accessible == "Tax ID missing for a business customer"
    assert "(Nok Ltd)" in business.html
    known = tax_id_notice(_order(customer=Customer(company_name="Nok Ltd", tax_id="76.123.456-7")))
    assert known.tone is None and "76.123.456-7" in known.html


def test_gift_card_lines_are_marked_in_the_items_and_the_preview() -> None:
    card = OrderLine(sku="GIFT-25", name="Gift Card $25", qty=1, price=Decimal("25.00"), type="gift_card")
    view = order_view(_order(lines=(*_order().lines, card), total=Decimal("72.60")), MONEY)
    tee_row, card_row = view.items
    assert {c.mark for c in tee_row} == {None}
    assert {c.mark for c in card_row} == {Mark.GIFT_CARD}
    assert "Gift card · 0% VAT" in card_row[1].text
    assert view.preview is not None
    assert [{c.mark for c in row} for row in view.preview.rows] == [{None}, {Mark.GIFT_CARD}]


def test_a_document_link_opens_only_a_web_address() -> None:
    docs = (
        Document(public_id="F-1", url="https://billing.example.com/F-1", document_type=1),
        Document(public_id="F-2", url="file:///tmp/F-2", document_type=1),
    )
    out = order_view(_order(documents=docs), MONEY).documents or ""
    assert '<a href="https://billing.example.com/F-1">' in out
    assert "file:///tmp/F-2" in out and 'href="file:' not in out


# ----------------------------------------------------------------------------- invoices


def test_an_invoice_has_no_tax_box_preview_or_documents() -> None:
    inv = Invoice(
        id="INV-9",
        account="seller",
        currency="AUD",
        status="paid",
        lines=(
            InvoiceLine(sku="MUG", advert_name="Mug", variant_name="Blue", quantity=1, price=Decimal("9")),
        ),
    )
    view = invoice_view(inv, MONEY)
    assert view.title == "Invoice INV-9" and view.status_tone is Tone.INFO
    assert view.tax_flag is None and view.preview is None and view.documents is None
    assert view.items[0][1].text == "Mug – Blue"


# ----------------------------------------------------------------------------- history


def test_an_unknown_outcome_gets_a_banner_and_a_marked_row() -> None:
    entries = [
        _entry("failed", message="Customer tax ID is required", minute=1),
        _entry("unknown", message="No answer", minute=2),
        _entry("done", action="mark_sent", minute=3),
    ]
    view = history_view(entries)
    assert view.title == "Action history (3)"
    assert "Outcome unknown" in view.banner and "Retry only if there is none" in view.banner
    done, unknown, failed = view.rows  # newest first
    assert {c.mark for c in unknown} == {Mark.UNKNOWN}
    assert unknown[2].text.startswith("⚠ ") and unknown[2].text.endswith("Check before retrying (see above).")
    assert unknown[0].tip == unknown_outcome_advice(entries[1])
    assert [c.mark for c in failed] == [None, None, Mark.FAILED]
    assert {c.mark for c in done} == {None}


def test_no_history_no_banner() -> None:
    view = history_view([])
    assert view == type(view)(title="Action history", banner="", rows=())
