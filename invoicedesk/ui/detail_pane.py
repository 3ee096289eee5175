"""The detail pane: everything about the selected order or invoice, in one scrollable column.

Staff decide here whether to invoice, ship or chase a customer, so the pane shows what the
services sent (header, customer, addresses, items, shipments, documents), what InvoiceDesk did
(the action history from the journal, with an unknown outcome impossible to miss), and, for a
Jumpseller order, the invoice the rules would produce *before* anyone clicks Create Invoice.

Every text is selectable (order numbers and tracking numbers get copied into emails), links
open in the browser through an injectable opener, and each section has an accessible name.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices, QFont, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedLayout,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from invoicedesk.action_table import ACTIONS, STATE_LABELS
from invoicedesk.cache import JournalEntry
from invoicedesk.domain import (
    ORDER_STATUS_LABELS,
    SHIPMENT_STATUS_LABELS,
    Address,
    Customer,
    Invoice,
    Order,
)
from invoicedesk.money import UNSHOWN
from invoicedesk.rules import InvoicePreview, format_money, invoice_preview, line_totals
from invoicedesk.textsafe import DISPLAY_LIMIT, breakable, capped
from invoicedesk.ui.icons import icon

log = logging.getLogger(__name__)

UrlOpener = Callable[[QUrl], object]

PLACEHOLDER = "Select an order or invoice"

_TEXT_FLAGS = (
    Qt.TextInteractionFlag.TextSelectableByMouse
    | Qt.TextInteractionFlag.TextSelectableByKeyboard
    | Qt.TextInteractionFlag.LinksAccessibleByMouse
    | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
)

# (background, text) pairs with enough contrast for small text.
_TONES: dict[str, tuple[str, str]] = {
    "green": ("#e3f3e8", "#1b5e33"),
    "amber": ("#fff2c6", "#5c4400"),
    "red": ("#fde4e4", "#8a1c1c"),
    "blue": ("#e3eefc", "#0d3f86"),
    "grey": ("#eceff1", "#37474f"),
}

_ORDER_TONES = {"paid": "green", "pending_payment": "amber", "canceled": "red", "abandoned": "grey"}
_INVOICE_TONES = {
    "paid": "blue",
    "partially_sent": "amber",
    "ready": "amber",
    "sent": "green",
    "collected": "green",
    "refunded": "grey",
    "cancelled": "red",
}

ACTION_LABELS: dict[str, str] = {str(name): spec.lower for name, spec in ACTIONS.items()}

UNKNOWN_BG = QColor("#fff2c6")
UNKNOWN_FG = QColor("#5c4400")
GIFT_BG = QColor("#f1ebfb")


# ----------------------------------------------------------------------------- text helpers


def _e(text: object) -> str:
    """Payload text as rich text: capped (a 10 MB name froze the window for 23 s), breakable
    (one unbroken run must not widen the pane), escaped."""
    return html.escape(breakable(capped(str(text))), quote=True)


def _is_web_url(url: str) -> bool:
    """Only http(s) is ever offered as a link: a payload could carry ``file:`` or ``javascript:``."""
    qurl = QUrl(url.strip())
    return qurl.isValid() and qurl.scheme() in ("http", "https") and bool(qurl.host())


def _link(url: str, text: str) -> str:
    """A link with the address exactly as sent (never capped or broken up: it must still open);
    an address too long to be a real one is shown as text only."""
    url = url.strip()
    if len(url) > DISPLAY_LIMIT or not _is_web_url(url):
        return _e(text)
    return f'<a href="{html.escape(url, quote=True)}">{_e(text)}</a>'


def when(moment: datetime | None) -> str:
    """A date as staff read it, in this computer's time zone: "10 Feb 2023, 13:56"."""
    if moment is None:
        return "—"
    local = moment.astimezone()
    return f"{local.day} {local:%b %Y, %H:%M}"


def _when_html(moment: datetime | None) -> str:
    """:func:`when` for rich text, kept on one line."""
    return _e(when(moment)).replace(" ", "&nbsp;")


def _address_lines(addr: Address, *, with_name: bool = True) -> list[str]:
    street = " ".join(p for p in (addr.address, addr.street_number) if p)
    town = " ".join(p for p in (addr.postal, addr.city) if p)
    lines = [
        addr.fullname if with_name else "",
        addr.company,
        street,
        town,
        addr.municipality if addr.municipality and addr.municipality != addr.city else "",
        addr.region,
        addr.country or addr.country_code,
    ]
    return [line for line in lines if line]


def _amounts_html(rows: Sequence[tuple[str, str, bool]]) -> str:
    """Label/amount rows as a small table with the amounts aligned on the right."""
    cells = []
    for label, value, strong in rows:
        if strong:
            label, value = f"<b>{_e(label)}</b>", f"<b>{_e(value)}</b>"
        else:
            label, value = _e(label), _e(value)
        cells.append(f'<tr><td style="padding-right:18px">{label}</td><td align="right">{value}</td></tr>')
    return f'<table cellspacing="0" cellpadding="1">{"".join(cells)}</table>'


def _bullets(items: Iterable[str]) -> str:
    return "".join(f"<div>•&nbsp;{_e(item)}</div>" for item in items)


def _box(label: QLabel, tone: str | None, *, strong: bool = False) -> None:
    """Colour a label as a notice box (``tone`` None: back to plain text).

    The inner space comes from contents margins, not stylesheet padding: a word-wrapped label
    with stylesheet padding works out its height for the wrong width and clips its last line.
    """
    if tone is None:
        label.setStyleSheet("")
        label.setContentsMargins(0, 0, 0, 0)
        return
    bg, fg = _TONES[tone]
    border = f"border-left: 4px solid {fg};" if strong else ""
    label.setStyleSheet(f"QLabel {{ background: {bg}; color: {fg}; border-radius: 3px; {border} }}")
    label.setContentsMargins(10 if strong else 8, 6, 8, 6)


def unknown_outcome_advice(entry: JournalEntry) -> str:
    """What staff should do about an action whose answer never came, as one or two sentences."""
    rid = entry.record_id
    if entry.action in ("invoice", "credit_note"):
        what = "an invoice" if entry.action == "invoice" else "a credit note"
        return (
            f"The invoicing service may or may not have issued {what} for order {rid}. "
            f"Use Check at the service: it re-reads the order's documents in Jumpseller and takes "
            f"one found there as the result. If none shows, look in the invoicing service too; "
            f"Retry only if there is none there either (InvoiceDesk asks you to confirm first)."
        )
    done = {"mark_sent": "sent", "mark_ready": "ready", "mark_collected": "collected"}.get(
        entry.action, "changed"
    )
    return (
        f"Marketplacer may or may not have recorded invoice {rid} as {done}. Use Check at the "
        f"service: it reads the invoice's state and settles the outcome either way."
    )


# ----------------------------------------------------------------------------- small widgets


class _FitTable(QTableWidget):
    """A read-only table exactly as tall as its rows: the pane scrolls, not each table in it."""

    def __init__(self, headers: Sequence[str], *, stretch: int, name: str, accessible: str) -> None:
        super().__init__(0, len(headers))
        self.setObjectName(name)
        self.setAccessibleName(accessible)
        self.setHorizontalHeaderLabels(list(headers))
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        # Rows wrap to the final column widths, which the header settles after a resize.
        self._refit = QTimer(self, singleShot=True, interval=0)
        self._refit.timeout.connect(self.fit)
        header.sectionResized.connect(lambda *_: self._refit.start())
        for col in range(len(headers)):
            mode = (
                QHeaderView.ResizeMode.Stretch if col == stretch else QHeaderView.ResizeMode.ResizeToContents
            )
            header.setSectionResizeMode(col, mode)

    def fill(self, rows: Sequence[Sequence[QTableWidgetItem]]) -> None:
        self.setRowCount(0)
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, item in enumerate(row):
                self.setItem(r, c, item)
        self.fit()

    def fit(self) -> None:
        self.resizeRowsToContents()
        height = self.horizontalHeader().sizeHint().height() + 2 * self.frameWidth()
        height += sum(self.rowHeight(r) for r in range(self.rowCount()))
        self.setFixedHeight(max(height, self.horizontalHeader().sizeHint().height() + 8))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.fit()


def _cell(text: str, *, money: bool = False, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(breakable(capped(text)))
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if money:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(capped(tip))
    return item


class _Section(QGroupBox):
    def __init__(self, title: str, name: str) -> None:
        super().__init__(title)
        self.setObjectName(name)
        self.setAccessibleName(title)
        self.body = QVBoxLayout(self)
        self.body.setSpacing(6)


# ----------------------------------------------------------------------------- the pane


class DetailPane(QWidget):
    """Shows one record; ``show_record(None, [])`` shows a friendly placeholder instead.

    ``urlActivated`` is emitted with every link staff click, before the link is opened with
    ``url_opener`` (``QDesktopServices.openUrl`` unless another is given, e.g. in tests).
    """

    urlActivated = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        url_opener: UrlOpener | None = None,
        locale: str = "en_US",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("detailPane")
        self.setAccessibleName("Details of the selected order or invoice")
        self.url_opener: UrlOpener = url_opener or QDesktopServices.openUrl
        self.money_locale = locale
        self.record: Order | Invoice | None = None
        self.history: list[JournalEntry] = []
        self.preview: InvoicePreview | None = None

        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.addWidget(self._build_placeholder())
        self._scroll = QScrollArea()
        self._scroll.setObjectName("detailScroll")
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setWidget(self._build_content())
        self._stack.addWidget(self._scroll)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # arrow keys and Page Down scroll
        self.setFocusProxy(self._scroll)
        self.show_record(None, [])

    # ------------------------------------------------------------------ building

    def _label(self, name: str, accessible: str = "", *, rich: bool = True) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(_TEXT_FLAGS)
        label.setOpenExternalLinks(False)
        label.linkActivated.connect(self.open_url)
        # No setSizePolicy here: it would drop the height-for-width flag word wrap sets, and
        # the layout would then give wrapped text too little height and clip its last lines.
        if accessible:
            label.setAccessibleName(accessible)
        return label

    def _build_placeholder(self) -> QWidget:
        page = QWidget()
        page.setObjectName("detailPlaceholderPage")
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        self.placeholder = QLabel(
            f"<p style='font-size:13pt'>{PLACEHOLDER}</p>"
            "<p>Its customer, items, shipments, invoice preview and history show here.</p>",
        )
        self.placeholder.setObjectName("detailPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setAccessibleName(PLACEHOLDER)
        layout.addWidget(self.placeholder)
        layout.addStretch(2)
        return page

    def _build_content(self) -> QWidget:
        content = QWidget()
        content.setObjectName("detailContent")
        layout = QVBoxLayout(content)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)

        # Header: what this is, its state, and its money.
        self.header = QFrame()
        self.header.setObjectName("detailHeader")
        self.header.setAccessibleName("Summary")
        head = QVBoxLayout(self.header)
        head.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.source_icon = QLabel()
        self.source_icon.setObjectName("sourceIcon")
        self.source_icon.setFixedSize(28, 28)
        top.addWidget(self.source_icon)
        self.title = self._label("detailTitle", "Record", rich=False)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.45)
        font.setBold(True)
        self.title.setFont(font)
        top.addWidget(self.title)
        self.status_chip = QLabel()
        self.status_chip.setObjectName("statusChip")
        self.status_chip.setTextInteractionFlags(_TEXT_FLAGS)
        top.addWidget(self.status_chip)
        top.addStretch(1)
        head.addLayout(top)
        self.meta = self._label("detailMeta", "Source, account and dates")
        head.addWidget(self.meta)
        self.totals = self._label("detailTotals", "Totals")
        head.addWidget(self.totals)
        layout.addWidget(self.header)

        self.customer_section = _Section("Customer and billing", "customerSection")
        self.customer = self._label("customerDetails", "Customer")
        self.customer_section.body.addWidget(self.customer)
        self.tax_flag = self._label("taxIdFlag", "Tax ID")
        self.customer_section.body.addWidget(self.tax_flag)
        self.billing = self._label("billingAddress", "Billing address")
        self.customer_section.body.addWidget(self.billing)
        layout.addWidget(self.customer_section)

        self.shipping_section = _Section("Shipping address", "shippingSection")
        self.shipping = self._label("shippingAddress", "Shipping address")
        self.shipping_section.body.addWidget(self.shipping)
        layout.addWidget(self.shipping_section)

        self.items_section = _Section("Items", "itemsSection")
        self.lines_table = _FitTable(
            ["SKU", "Item", "Qty", "Unit price", "Total"],
            stretch=1,
            name="lineItemsTable",
            accessible="Line items",
        )
        self.items_section.body.addWidget(self.lines_table)
        layout.addWidget(self.items_section)

        self.preview_section = _Section("Invoice preview", "previewSection")
        self.preview_intro = self._label("previewIntro", "About the invoice preview")
        self.preview_section.body.addWidget(self.preview_intro)
        self.preview_table = _FitTable(
            ["Item", "Qty", "Net", "VAT %", "VAT", "Total"],
            stretch=0,
            name="previewTable",
            accessible="Invoice preview lines",
        )
        self.preview_section.body.addWidget(self.preview_table)
        self.preview_totals = self._label("previewTotals", "Invoice preview totals")
        self.preview_section.body.addWidget(self.preview_totals)
        self.preview_notes = self._label("previewNotes", "Invoice preview notes")
        self.preview_section.body.addWidget(self.preview_notes)
        layout.addWidget(self.preview_section)

        self.shipments_section = _Section("Shipments", "shipmentsSection")
        self.shipments = self._label("shipmentDetails", "Shipments and tracking")
        self.shipments_section.body.addWidget(self.shipments)
        layout.addWidget(self.shipments_section)

        self.documents_section = _Section("Documents", "documentsSection")
        self.documents = self._label("documentLinks", "Invoices and credit notes")
        self.documents_section.body.addWidget(self.documents)
        layout.addWidget(self.documents_section)

        self.history_section = _Section("Action history", "historySection")
        self.unknown_banner = self._label("unknownOutcomeBanner", "Action with an unknown outcome")
        _box(self.unknown_banner, "amber", strong=True)
        self.history_section.body.addWidget(self.unknown_banner)
        self.history_empty = self._label("historyEmpty", "Action history", rich=False)
        self.history_empty.setText("Nothing done to this record from InvoiceDesk yet.")
        self.history_section.body.addWidget(self.history_empty)
        self.history_table = _FitTable(
            ["When", "Action", "Outcome"],
            stretch=2,
            name="historyTable",
            accessible="Action history",
        )
        self.history_section.body.addWidget(self.history_table)
        layout.addWidget(self.history_section)

        self.notes_section = _Section("Data notes", "dataNotesSection")
        self.data_notes = self._label("dataNotes", "Notes about unexpected data")
        small = self.data_notes.font()
        small.setPointSizeF(small.pointSizeF() * 0.92)
        self.data_notes.setFont(small)
        self.notes_section.body.addWidget(self.data_notes)
        layout.addWidget(self.notes_section)

        layout.addStretch(1)
        return content

    # ------------------------------------------------------------------ links

    def open_url(self, url: str) -> None:
        """Tell listeners, then open ``url`` in the browser (web links only)."""
        self.urlActivated.emit(url)
        if _is_web_url(url):
            self.url_opener(QUrl(url.strip()))
        else:
            log.warning("Not opening a link that is not a web address.")

    # ------------------------------------------------------------------ showing

    def show_record(self, record: Order | Invoice | None, history: list[JournalEntry]) -> None:
        """Show ``record`` and its journal entries; ``None`` clears the pane."""
        self.record = record
        self.history = list(history)
        self.preview = None
        if record is None:
            self._stack.setCurrentIndex(0)
            return
        if isinstance(record, Order):
            self._show_order(record)
        else:
            self._show_invoice(record)
        self._show_history(self.history)
        self._show_problems(record.problems)
        self._scroll.verticalScrollBar().setValue(0)
        self._stack.setCurrentIndex(1)

    def money(self, amount: Decimal | None, currency: str) -> str:
        return format_money(amount, currency, self.money_locale)

    def _set_status(self, label: str, tone: str) -> None:
        label = capped(label, 80)
        bg, fg = _TONES.get(tone, _TONES["grey"])
        self.status_chip.setText(label)
        self.status_chip.setAccessibleName(f"Status: {label}")
        self.status_chip.setStyleSheet(
            f"QLabel#statusChip {{ background: {bg}; color: {fg}; border-radius: 9px; "
            "padding: 2px 9px; font-weight: bold; }"
        )

    # ---------------------------------------------------------------- orders

    def _show_order(self, order: Order) -> None:
        cur = order.currency
        self.source_icon.setPixmap(icon("jumpseller").pixmap(28, 28))
        self.source_icon.setToolTip("Jumpseller web store order")
        self.title.setText(f"Order {capped(str(order.id), 40)}")
        label = ORDER_STATUS_LABELS.get(order.status, order.status_label or order.status)
        if order.status_label and order.status_label.lower() != label.lower():
            label = f"{label} ({order.status_label})"
        self._set_status(label, _ORDER_TONES.get(order.status, "grey"))
        meta = [f"Jumpseller store <b>{_e(order.account)}</b>", f"ordered {_when_html(order.created_at)}"]
        if order.completed_at:
            meta.append(f"completed {_when_html(order.completed_at)}")
        extra = []
        if order.payment_method_name:
            extra.append(f"Payment: {_e(order.payment_method_name)}")
        if cur:
            extra.append(f"Currency: {_e(cur)}")
        self.meta.setText(" · ".join(meta) + ("<br>" + " · ".join(extra) if extra else ""))

        rows: list[tuple[str, str, bool]] = [("Subtotal", self.money(order.subtotal, cur), False)]
        if order.discount:
            rows.append(("Discount", "−" + self.money(order.discount, cur), False))
        if order.shipping or order.shipping_discount:
            rows.append(("Shipping", self.money(order.shipping - order.shipping_discount, cur), False))
        rows.append(("Tax", self.money(order.tax + order.shipping_tax, cur), False))
        if order.gift_cards_amount:
            rows.append(("Paid with gift cards", "−" + self.money(order.gift_cards_amount, cur), False))
        total = self.money(order.total, cur) if order.total_known else "not readable"
        rows.append(("Total", total, True))
        self.totals.setText(_amounts_html(rows))

        self._show_customer_order(order)
        self._show_shipping_address(order.shipping_address, order.shipping_option, order.shipping_method_name)
        self._show_order_lines(order)
        self._show_preview(order)
        self._show_order_shipment(order)
        self._show_documents(order)

    def _show_customer_order(self, order: Order) -> None:
        c = order.customer
        # The invoicing service counts a company in the billing address as a business too,
        # not only billing_information.company_name (what Order.is_business looks at).
        company = c.company_name.strip() or order.billing_address.company.strip()
        self.customer_section.setTitle("Customer and billing")
        self.customer.setText(self._customer_html(c, order.customer_name))
        if c.tax_id:
            self.tax_flag.setText(f"Tax ID: <b>{_e(c.tax_id)}</b>")
            _box(self.tax_flag, None)
            self.tax_flag.setAccessibleName("Tax ID")
        elif company:
            self.tax_flag.setText(
                "<b>Tax ID missing</b> — this is a business customer "
                f"({_e(company)}), and the invoicing service refuses to invoice a business "
                "without a tax ID. Ask the customer for it and add it to the order's billing address "
                "in Jumpseller, then sync before creating the invoice."
            )
            _box(self.tax_flag, "red", strong=True)
            self.tax_flag.setAccessibleName("Tax ID missing for a business customer")
        else:
            self.tax_flag.setText(
                "<b>Tax ID missing</b> — fine for a private customer; a business customer would need one."
            )
            _box(self.tax_flag, "amber")
            self.tax_flag.setAccessibleName("Tax ID missing")
        self.tax_flag.show()
        billing = _address_lines(order.billing_address)
        self.billing.setText(
            "<b>Billing address</b><br>" + ("<br>".join(_e(x) for x in billing) if billing else "Not given.")
        )
        self.billing.show()

    def _customer_html(self, c: Customer, name: str) -> str:
        parts = [f"<b>{_e(name or 'Unnamed customer')}</b>"]
        if c.company_name and c.company_name != name:
            parts.append(f"Company: {_e(c.company_name)}")
        if c.email:
            parts.append(_e(c.email))
        if c.phone:
            parts.append(_e(c.phone))
        return "<br>".join(parts)

    def _show_shipping_address(self, addr: Address, option: str, method: str) -> None:
        how = {
            "delivery": "Delivery",
            "store_pickup": "Store pickup",
            "no_shipping": "No shipping needed",
            "buy_online": "Buy Online (delivered)",
            "click_and_collect": "Click and Collect",
        }.get(option, option)
        head = " · ".join(_e(x) for x in (how, method) if x)
        lines = _address_lines(addr)
        body = "<br>".join(_e(x) for x in lines) if lines else "No shipping address given."
        self.shipping.setText((f"<b>{head}</b><br>" if head else "") + body)

    def _show_order_lines(self, order: Order) -> None:
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
                name += f"\nDiscount {self.money(line.discount, cur)} each"
            if line.is_gift_card:
                name += "\nGift card · 0% VAT"
                tip = "A gift card product: invoiced at 0% VAT."
            row = [
                _cell(line.sku),
                _cell(name, tip=tip),
                _cell(UNSHOWN if "qty" in unusable else str(line.qty), money=True),
                _cell(UNSHOWN if "price" in unusable else self.money(line.price, cur), money=True),
                _cell(UNSHOWN if total is None else self.money(total, cur), money=True),
            ]
            if line.is_gift_card:
                for item in row:
                    item.setBackground(QBrush(GIFT_BG))
                    item.setData(Qt.ItemDataRole.UserRole, "gift_card")
            rows.append(row)
        self.items_section.setTitle(f"Items ({len(rows)})")
        self.lines_table.fill(rows)

    def _show_preview(self, order: Order) -> None:
        self.preview_section.show()
        try:
            preview = invoice_preview(order)
        except Exception:  # one odd order must not take the whole pane down
            log.exception("Invoice preview failed for order %s", order.id)
            self.preview = None
            self.preview_intro.setText("The invoice preview could not be worked out for this order.")
            self.preview_table.fill([])
            self.preview_table.hide()
            self.preview_totals.clear()
            self.preview_notes.clear()
            return
        self.preview = preview
        cur = preview.currency
        doc = order.invoice if order.is_invoiced else None
        if doc is not None:
            intro = (
                f"Already invoiced as <b>{_e(doc.public_id or 'an invoice')}</b>. "
                "These are the lines the invoice rules give for the order as it is now."
            )
        elif order.status == "paid":
            intro = "What the invoice will say if you create it now."
        else:
            status = ORDER_STATUS_LABELS.get(order.status, order.status).lower()
            intro = f"What the invoice would say. The order is {_e(status)}: only paid orders are invoiced."
        how = "Prices include VAT." if preview.prices_include_tax else "Prices exclude VAT."
        self.preview_intro.setText(f"{intro} {how} VAT is rounded item by item.")
        rows = []
        for line in preview.lines:
            name = line.name or line.sku or "(no name)"
            if line.is_gift_card:
                name += " (gift card)"
            row = [
                _cell(name, tip=f"SKU {line.sku}" if line.sku else ""),
                _cell(str(line.qty), money=True),
                _cell(self.money(line.net, cur), money=True),
                _cell(f"{line.vat_percent:f}%", money=True),
                _cell(self.money(line.vat, cur), money=True),
                _cell(self.money(line.gross, cur), money=True),
            ]
            if line.is_gift_card:
                for item in row:
                    item.setBackground(QBrush(GIFT_BG))
            rows.append(row)
        self.preview_table.fill(rows)
        self.preview_table.setVisible(bool(rows))
        totals: list[tuple[str, str, bool]] = [("Net", self.money(preview.subtotal, cur), False)]
        if preview.shipping:
            totals.append(("Shipping", self.money(preview.shipping, cur), False))
        if preview.discount:
            totals.append(("Discount", "−" + self.money(preview.discount, cur), False))
        totals.append(("VAT", self.money(preview.vat_total, cur), False))
        totals.append(("Invoice total", self.money(preview.total, cur), True))
        if preview.gift_cards_amount:
            totals.append(("Paid with gift cards", "−" + self.money(preview.gift_cards_amount, cur), False))
            totals.append(("Paid otherwise", self.money(preview.amount_due, cur), False))
        self.preview_totals.setText(_amounts_html(totals))
        self.preview_notes.setText(_bullets(preview.notes))
        self.preview_notes.setVisible(bool(preview.notes))

    def _show_order_shipment(self, order: Order) -> None:
        self.shipments_section.setTitle("Shipment")
        status = SHIPMENT_STATUS_LABELS.get(order.shipment_status, order.shipment_status)
        parts = [f"Status: <b>{_e(status)}</b>"]
        if order.fulfillment_status:
            parts.append(f"Fulfilment: {_e(order.fulfillment_status)}")
        number = order.tracking_number
        if number or order.tracking_url:
            shown = number or "Track the parcel"
            carrier = f" ({_e(order.tracking_company)})" if order.tracking_company else ""
            parts.append(f"Tracking: {_link(order.tracking_url, shown)}{carrier}")
        else:
            parts.append("No tracking number yet.")
        self.shipments.setText("<br>".join(parts))

    def _show_documents(self, order: Order) -> None:
        self.documents_section.show()
        if not order.documents:
            self.documents.setText("No invoice or credit note attached to this order yet.")
            return
        parts = []
        for doc in order.documents:
            kind = "Invoice" if doc.is_invoice else "Credit note" if doc.is_credit_note else "Document"
            if doc.is_unreadable:
                kind = f"Document of unknown type ({_e(doc.type_text or '?')})"
            ident = doc.public_id or doc.external_id or "(no number)"
            dated = f" · {_when_html(doc.created_at)}" if doc.created_at else ""
            if _is_web_url(doc.url):
                opener = f" · {_link(doc.url, 'Open ' + kind.lower())}"
            elif doc.url:
                opener = f" · {_e(doc.url)}"
            else:
                opener = " · no link"
            made_by = f" · made by {_e(doc.app_code)}" if doc.app_code else ""
            parts.append(f"<b>{kind}</b> {_e(ident)}{dated}{made_by}{opener}")
        self.documents.setText("<br>".join(parts))

    # ---------------------------------------------------------------- invoices

    def _show_invoice(self, inv: Invoice) -> None:
        cur = inv.currency
        self.source_icon.setPixmap(icon("marketplacer").pixmap(28, 28))
        self.source_icon.setToolTip("Marketplacer marketplace invoice")
        self.title.setText(f"Invoice {capped(str(inv.id), 40)}")
        self._set_status(inv.status_label, _INVOICE_TONES.get(inv.status, "grey"))
        meta = [
            f"Marketplacer seller <b>{_e(inv.account)}</b>",
            f"<b>{_e(inv.delivery_label)}</b>",
            f"paid {_when_html(inv.paid_at)}" if inv.paid_at else f"created {_when_html(inv.created_at)}",
        ]
        extra = []
        if inv.external_id:
            extra.append(f"Marketplace order {_e(inv.external_id)}")
        if cur:
            extra.append(f"Currency: {_e(cur)}")
        text = " · ".join(meta) + ("<br>" + " · ".join(extra) if extra else "")
        if inv.message_to_seller:
            text += f"<br>Message from the customer: <i>{_e(inv.message_to_seller)}</i>"
        self.meta.setText(text)

        rows: list[tuple[str, str, bool]] = [("Subtotal", self.money(inv.subtotal, cur), False)]
        if inv.discount:
            rows.append(("Discount", "−" + self.money(inv.discount, cur), False))
        if inv.postage:
            rows.append(("Postage", self.money(inv.postage, cur), False))
        tax_word = "Tax included" if inv.tax_inclusive else "Tax"
        rows.append((tax_word, self.money(inv.tax_total, cur), False))
        total = self.money(inv.total, cur) if inv.total_known else "not readable"
        rows.append(("Total", total, True))
        self.totals.setText(_amounts_html(rows))

        # Customer (who receives) and billing customer (who pays), when they differ.
        self.customer_section.setTitle("Customer and billing")
        parts = [self._customer_html(inv.customer, inv.customer.display_name)]
        b = inv.billing_customer
        same = (b.display_name, b.email) == (inv.customer.display_name, inv.customer.email)
        if not same and (b.display_name or b.email):
            parts.append("<b>Billed to</b><br>" + self._customer_html(b, b.display_name))
        self.customer.setText("<br><br>".join(parts))
        self.tax_flag.hide()  # Marketplacer invoices carry no tax id; nothing to invoice here.
        billing = _address_lines(inv.billing_address)
        self.billing.setVisible(bool(billing))
        self.billing.setText("<b>Billing address</b><br>" + "<br>".join(_e(x) for x in billing))
        self._show_shipping_address(inv.shipping_address, inv.delivery_type, "")

        rows_items = []
        for line in inv.lines:
            name = " – ".join(p for p in (line.advert_name, line.variant_name) if p) or "(no name)"
            rows_items.append(
                [
                    _cell(line.sku),
                    _cell(name, tip=f"Barcode {line.barcode}" if line.barcode else ""),
                    _cell(str(line.quantity), money=True),
                    _cell(self.money(line.price, cur), money=True),
                    _cell(self.money(line.total, cur), money=True),
                ]
            )
        self.items_section.setTitle(f"Items ({len(rows_items)})")
        self.lines_table.fill(rows_items)
        self.preview_section.hide()
        self.documents_section.hide()
        self._show_invoice_shipments(inv)

    def _show_invoice_shipments(self, inv: Invoice) -> None:
        self.shipments_section.setTitle(
            "Shipments" if inv.delivery_type != "click_and_collect" else "Collection"
        )
        parts = []
        if inv.delivery_type == "click_and_collect":
            parts.append(f"Ready for collection: {_when_html(inv.ready_at) if inv.ready_at else 'not yet'}")
            parts.append(f"Collected: {_when_html(inv.collected_at) if inv.collected_at else 'not yet'}")
        names = {line.id: line.advert_name or line.sku for line in inv.lines}
        for ship in inv.shipments:
            head = f"<b>Shipment {_e(ship.id)}</b>" if ship.id else "<b>Shipment</b>"
            bits = [head]
            if ship.dispatched_at:
                bits.append(f"dispatched {_when_html(ship.dispatched_at)}")
            if ship.carrier:
                bits.append(_e(ship.carrier))
            if ship.tracking_number or ship.tracking_link:
                bits.append("tracking " + _link(ship.tracking_link, ship.tracking_number or "link"))
            line = " · ".join(bits)
            if ship.items:
                items = ", ".join(f"{qty} × {names.get(lid, 'item ' + lid)}" for lid, qty in ship.items)
                line += f"<br>&nbsp;&nbsp;{_e(items)}"
            if ship.note:
                line += f"<br>&nbsp;&nbsp;Note: {_e(ship.note)}"
            parts.append(line)
        if not inv.shipments and inv.postage_tracking:
            carriers = list(inv.postage_carrier)
            for i, number in enumerate(inv.postage_tracking):
                carrier = carriers[i] if i < len(carriers) else ""
                parts.append(f"Tracking {_e(number)}" + (f" ({_e(carrier)})" if carrier else ""))
        if not parts:
            parts.append("Not dispatched yet." if inv.delivery_type == "buy_online" else "No shipments.")
        self.shipments.setText("<br>".join(parts))

    # ---------------------------------------------------------------- history and notes

    def _show_history(self, entries: Sequence[JournalEntry]) -> None:
        newest_first = sorted(entries, key=lambda e: (e.created_at, e.id), reverse=True)
        unknown = [e for e in newest_first if e.state == "unknown"]
        if unknown:
            advice = "".join(
                f"<p><b>Outcome unknown: {_e(ACTION_LABELS.get(e.action, e.action))}</b> "
                f"({_when_html(e.created_at)}). {_e(unknown_outcome_advice(e))}</p>"
                for e in unknown
            )
            self.unknown_banner.setText(advice)
        self.unknown_banner.setVisible(bool(unknown))
        self.history_empty.setVisible(not entries)
        self.history_table.setVisible(bool(entries))
        bold = QFont(self.history_table.font())
        bold.setBold(True)
        rows = []
        for e in newest_first:
            state = STATE_LABELS.get(e.state, e.state)
            message = e.message
            if e.state == "unknown":
                state = "⚠ " + state
                if message and message[-1] not in ".!?":
                    message += "."
                message = (message + " " if message else "") + "Check before retrying (see above)."
            # State and message share a column so the message gets the width in a narrow pane.
            row = [
                _cell(when(e.updated_at or e.created_at)),
                _cell(ACTION_LABELS.get(e.action, e.action.replace("_", " ").capitalize())),
                _cell(f"{state}\n{message}" if message else state),
            ]
            if e.state == "unknown":
                for item in row:
                    item.setBackground(QBrush(UNKNOWN_BG))
                    item.setForeground(QBrush(UNKNOWN_FG))
                    item.setFont(bold)
                    item.setToolTip(unknown_outcome_advice(e))
            elif e.state == "failed":
                row[2].setForeground(QBrush(QColor(_TONES["red"][1])))
            rows.append(row)
        self.history_table.fill(rows)
        self.history_section.setTitle(f"Action history ({len(rows)})" if rows else "Action history")

    def _show_problems(self, problems: Sequence[str]) -> None:
        self.notes_section.setVisible(bool(problems))
        if problems:
            self.data_notes.setText(
                "Some values the service sent were unexpected; they are kept as sent:" + _bullets(problems)
            )
