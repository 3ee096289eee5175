"""Staff on a dark desktop can read every coloured box: the detail pane and the accounts dialog
take their colours from the palette in use, and change them when the palette changes."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from invoicedesk.cache import JournalEntry
from invoicedesk.config import Config, StaticSecrets
from invoicedesk.domain import Customer, Order, OrderLine
from invoicedesk.ui.accounts_dialog import AccountsDialog
from invoicedesk.ui.details.markup import Tone
from invoicedesk.ui.details.pane import DetailPane, tone_colours
from invoicedesk.ui.palette import DARK_TONES, LIGHT_TONES, dark_palette, light_palette

PALETTES = {"light": light_palette, "dark": dark_palette}
AT = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def luminance(colour: QColor) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())
    )


def contrast(a: QColor | str, b: QColor | str) -> float:
    """The WCAG contrast ratio of two colours (4.5 is enough for small text)."""
    la, lb = sorted((luminance(QColor(a)), luminance(QColor(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def box_colours(style: str) -> tuple[str, str]:
    """(background, text) colour of a stylesheet box."""
    bg = re.search(r"background:\s*(#[0-9a-fA-F]{6})", style)
    fg = re.search(r"[^-]color:\s*(#[0-9a-fA-F]{6})", style)
    assert bg and fg, style
    return bg.group(1), fg.group(1)


def _entry(state: str, minute: int) -> JournalEntry:
    at = AT.replace(minute=minute)
    return JournalEntry(minute, "jumpseller", "demo-store", "1001", "invoice", state, "", {}, {}, "", at, at)


def _business_order_with_gift_card() -> Order:
    tee = OrderLine(sku="TEE", name="Tee", qty=1, price=Decimal("20.00"), tax_rate=Decimal(19))
    card = OrderLine(sku="GIFT-25", name="Gift Card $25", qty=1, price=Decimal("25.00"), type="gift_card")
    return Order(
        id=1001,
        account="demo-store",
        currency="USD",
        status="pending_payment",
        created_at=AT,
        lines=(tee, card),
        total=Decimal("48.80"),
        customer=Customer(fullname="Bo", company_name="Nok Ltd"),
    )


@pytest.fixture
def pane(qtbot):
    widget = DetailPane(url_opener=lambda _url: None)
    widget.resize(520, 800)
    qtbot.addWidget(widget)
    widget.show_record(_business_order_with_gift_card(), [_entry("unknown", 2), _entry("failed", 1)])
    return widget


def test_every_tone_reads_at_4_5_to_1_in_light_and_dark() -> None:
    for make in PALETTES.values():
        palette = make()
        for tone in Tone:
            bg, fg = tone_colours(tone, palette)
            assert contrast(bg, fg) >= 4.5, (tone, bg, fg)
        t = LIGHT_TONES if make is light_palette else DARK_TONES
        text = palette.color(QPalette.ColorRole.Text)
        assert contrast(t.gift_bg, text) >= 4.5
        for ground in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase, QPalette.ColorRole.Window):
            for colour in (t.success_text, t.warning_text, t.error_text):
                assert contrast(colour, palette.color(ground)) >= 4.5, (colour, ground)


def test_the_pane_boxes_and_marked_rows_follow_the_palette(pane) -> None:
    seen: dict[str, tuple[str, ...]] = {}
    for name, make in PALETTES.items():
        pane.setPalette(make())  # a PaletteChange, as when the desktop switches to dark
        t = DARK_TONES if name == "dark" else LIGHT_TONES
        chip = box_colours(pane.status_chip.styleSheet())
        tax = box_colours(pane.tax_flag.styleSheet())
        banner = box_colours(pane.unknown_banner.styleSheet())
        assert tax == (t.error_bg, t.error_fg) and "border-left" in pane.tax_flag.styleSheet()
        assert chip == (t.warning_bg, t.warning_fg) == banner  # pending payment; outcome unknown
        for bg, fg in (chip, tax, banner):
            assert contrast(bg, fg) >= 4.5

        gift = pane.lines_table.item(1, 0)
        assert "Gift card" in pane.lines_table.item(1, 1).text()
        assert gift.background().color() == QColor(t.gift_bg)
        assert contrast(gift.background().color(), pane.palette().color(QPalette.ColorRole.Text)) >= 4.5
        assert pane.lines_table.item(0, 0).background().style() == Qt.BrushStyle.NoBrush  # plain stays plain

        history = pane.history_table
        unknown, failed = history.item(0, 2), history.item(1, 2)
        assert "Outcome unknown" in unknown.text()
        assert contrast(unknown.background().color(), unknown.foreground().color()) >= 4.5
        assert failed.foreground().color() == QColor(t.error_text)
        assert contrast(failed.foreground().color(), pane.palette().color(QPalette.ColorRole.Base)) >= 4.5
        seen[name] = (*chip, *tax, *banner, gift.background().color().name())
    assert all(a != b for a, b in zip(seen["light"], seen["dark"], strict=True))


def test_a_new_record_on_a_dark_palette_is_coloured_dark_too(qtbot) -> None:
    widget = DetailPane(url_opener=lambda _url: None)
    qtbot.addWidget(widget)
    widget.setPalette(dark_palette())
    order = _business_order_with_gift_card()
    widget.show_record(replace(order, status="paid"), [])
    assert box_colours(widget.status_chip.styleSheet()) == (DARK_TONES.success_bg, DARK_TONES.success_fg)
    assert box_colours(widget.tax_flag.styleSheet()) == (DARK_TONES.error_bg, DARK_TONES.error_fg)


def test_the_accounts_dialog_error_and_hint_follow_the_palette(qtbot, tmp_path) -> None:
    async def never(*_args: object) -> None:
        raise AssertionError("no connection test here")

    dialog = AccountsDialog(Config(path=tmp_path / "config.toml"), StaticSecrets(), never)
    qtbot.addWidget(dialog)
    styles = {}
    for name, make in PALETTES.items():
        dialog.setPalette(make())
        t = DARK_TONES if name == "dark" else LIGHT_TONES
        bg, fg = box_colours(dialog.error_label.styleSheet())
        assert (bg, fg) == (t.error_bg, t.error_fg) and contrast(bg, fg) >= 4.5
        assert t.warning_text in dialog.secret_hint.styleSheet()
        window = dialog.palette().color(QPalette.ColorRole.Window)
        assert contrast(t.warning_text, window) >= 4.5
        styles[name] = dialog.error_label.styleSheet()
    assert styles["light"] != styles["dark"]


def test_the_pane_turns_dark_when_the_whole_app_does(pane, qapp, qtbot) -> None:
    """The desktop switching scheme changes the application palette (see ThemeFollower)."""
    before = qapp.palette()
    pane.show()
    qapp.setPalette(light_palette())
    qtbot.waitUntil(lambda: LIGHT_TONES.warning_bg in pane.status_chip.styleSheet())
    try:
        qapp.setPalette(dark_palette())
        qtbot.waitUntil(lambda: DARK_TONES.warning_bg in pane.status_chip.styleSheet())
        assert pane.lines_table.item(1, 0).background().color() == QColor(DARK_TONES.gift_bg)
    finally:
        qapp.setPalette(before)


def test_the_mark_sent_dialog_refusal_and_hint_follow_the_palette(qtbot, sandbox_session) -> None:
    import httpx

    from invoicedesk.domain import parse_invoice_document
    from invoicedesk.ui.mark_sent_dialog import MarkSentDialog

    seller = sandbox_session.sellers[0]
    sent = next(i for i in sandbox_session.truth_invoices(seller.name) if i["attributes"]["status"] == "sent")
    r = httpx.get(f"{sandbox_session.marketplacer_url}/api/v2/client/invoices/{sent['id']}",
                  headers={"Authorization": f"Bearer {seller.api_key}"}, timeout=5)
    invoice = parse_invoice_document(r.json(), account=seller.name, currency=seller.currency)
    dialog = MarkSentDialog(invoice)
    qtbot.addWidget(dialog)
    assert dialog.refusal.text()  # already sent: the refusal box shows
    styles = {}
    for name, make in PALETTES.items():
        dialog.setPalette(make())
        t = DARK_TONES if name == "dark" else LIGHT_TONES
        bg, fg = box_colours(dialog.refusal.styleSheet())
        assert (bg, fg) == (t.error_bg, t.error_fg) and contrast(bg, fg) >= 4.5
        styles[name] = dialog.refusal.styleSheet() + dialog.hint.styleSheet()
    assert styles["light"] != styles["dark"]
