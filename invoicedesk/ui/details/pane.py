"""The detail pane widget: everything about the selected order or invoice, in one scrollable column.

Staff decide here whether to invoice, ship or chase a customer, so the pane shows what the
services sent (header, customer, addresses, items, shipments, documents), what InvoiceDesk did
(the action history from the journal, with an unknown outcome impossible to miss), and, for a
Jumpseller order, the invoice the rules would produce *before* anyone clicks Create Invoice.
What each of those says is worked out Qt-free in ``order``, ``invoice`` and ``history``; this
module builds the sections, fills them, and colours them.

Every colour comes from the palette in use (:func:`invoicedesk.ui.palette.tones` and the
widget's own ``palette()``), and is worked out again when the palette or style changes, so the
boxes, the status chip and marked table rows stay readable on a dark palette too.

Every text is selectable (order numbers and tracking numbers get copied into emails), links
open in the browser through an injectable opener, and each section has an accessible name.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from decimal import Decimal

from PySide6.QtCore import QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices, QFont, QPalette, QResizeEvent
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

from invoicedesk.cache import JournalEntry
from invoicedesk.domain import Invoice, Order
from invoicedesk.rules import InvoicePreview
from invoicedesk.textsafe import capped
from invoicedesk.ui.details.history import history_view
from invoicedesk.ui.details.invoice import invoice_view
from invoicedesk.ui.details.markup import (
    PLACEHOLDER,
    Mark,
    Money,
    Notice,
    PreviewView,
    RecordView,
    Row,
    Tone,
    data_notes_html,
    is_web_url,
)
from invoicedesk.ui.details.order import order_view
from invoicedesk.ui.icons import icon
from invoicedesk.ui.palette import Tones, tones

log = logging.getLogger(__name__)

UrlOpener = Callable[[QUrl], object]

_TEXT_FLAGS = (
    Qt.TextInteractionFlag.TextSelectableByMouse
    | Qt.TextInteractionFlag.TextSelectableByKeyboard
    | Qt.TextInteractionFlag.LinksAccessibleByMouse
    | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
)

MARK_ROLE = Qt.ItemDataRole.UserRole  # a table item's Mark (as its str value), if any


# ----------------------------------------------------------------------------- colours


def tone_colours(tone: Tone, palette: QPalette) -> tuple[str, str]:
    """(background, text) of a box meaning ``tone`` on ``palette``: both readable as small text."""
    t = tones(palette)
    pairs = {
        Tone.SUCCESS: (t.success_bg, t.success_fg),
        Tone.WARNING: (t.warning_bg, t.warning_fg),
        Tone.ERROR: (t.error_bg, t.error_fg),
        Tone.INFO: (t.info_bg, t.info_fg),
    }
    if tone in pairs:
        return pairs[tone]
    role = QPalette.ColorRole
    return palette.color(role.Midlight).name(), palette.color(role.WindowText).name()


def box_style(label: QLabel, tone: Tone | None, palette: QPalette, *, strong: bool = False) -> None:
    """Colour a label as a notice box for ``palette`` (``tone`` None: back to plain text).

    ``palette`` is the pane's, not the label's: a label's stylesheet colours become its own
    palette, so the label would go on judging "dark or light" by its previous box.

    The inner space comes from contents margins, not stylesheet padding: a word-wrapped label
    with stylesheet padding works out its height for the wrong width and clips its last line.
    """
    if tone is None:
        label.setStyleSheet("")
        label.setContentsMargins(0, 0, 0, 0)
        return
    bg, fg = tone_colours(tone, palette)
    border = f"border-left: 4px solid {fg};" if strong else ""
    label.setStyleSheet(f"QLabel {{ background: {bg}; color: {fg}; border-radius: 3px; {border} }}")
    label.setContentsMargins(10 if strong else 8, 6, 8, 6)


def paint_marks(table: QTableWidget, t: Tones) -> None:
    """Colour every marked cell of ``table`` with the tones ``t``."""
    for r in range(table.rowCount()):
        for c in range(table.columnCount()):
            item = table.item(r, c)
            mark = item.data(MARK_ROLE) if item is not None else None
            if item is None or not mark:
                continue
            if mark == Mark.GIFT_CARD:
                item.setBackground(QBrush(QColor(t.gift_bg)))
            elif mark == Mark.UNKNOWN:
                item.setBackground(QBrush(QColor(t.warning_bg)))
                item.setForeground(QBrush(QColor(t.warning_fg)))
            elif mark == Mark.FAILED:
                item.setForeground(QBrush(QColor(t.error_text)))


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

    def fill(self, rows: Sequence[Row]) -> None:
        """Show ``rows``; marked cells carry their mark (colours come from :func:`paint_marks`)."""
        self.setRowCount(0)
        self.setRowCount(len(rows))
        bold = QFont(self.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                item = QTableWidgetItem(cell.text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                if cell.money:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if cell.tip:
                    item.setToolTip(cell.tip)
                if cell.mark is not None:
                    item.setData(MARK_ROLE, str(cell.mark))
                    if cell.mark == Mark.UNKNOWN:
                        item.setFont(bold)
                self.setItem(r, c, item)
        paint_marks(self, tones(self.palette()))
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
    # A link staff clicked did not open (no browser answered): the window offers to copy it.
    urlFailed = Signal(str)

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
        # (label, address) of a record in its service's admin pages; set by the window.
        self.admin_link: Callable[[Order | Invoice], tuple[str, str] | None] = lambda _r: None
        self._money = Money(locale)
        self.record: Order | Invoice | None = None
        self.history: list[JournalEntry] = []
        self.preview: InvoicePreview | None = None
        self._status_tone = Tone.NEUTRAL
        self._tax_notice: Notice | None = None

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
        # The empty pane takes no focus: Tab must not land in a scroll area nobody can see.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._built = True
        self.show_record(None, [])

    @property
    def scroll_area(self) -> QScrollArea:
        """The pane's one stop in the Tab order (arrows and Page Down scroll it)."""
        return self._scroll

    @property
    def money_locale(self) -> str:
        return self._money.locale

    @money_locale.setter
    def money_locale(self, locale: str) -> None:
        self._money.locale = locale

    def money(self, amount: Decimal | None, currency: str) -> str:
        return self._money(amount, currency)

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
        layout.addWidget(self._build_header())

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
        box_style(self.unknown_banner, Tone.WARNING, self.palette(), strong=True)
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
        # One Tab stop for the whole pane (its scroll area): the texts and tables inside are
        # still selectable with the mouse, but Tab does not walk through each of them.
        for child in content.findChildren(QWidget):
            if child.focusPolicy() & Qt.FocusPolicy.TabFocus:
                child.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        return content

    def _build_header(self) -> QFrame:
        """What this is, its state, and its money."""
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
        self.admin_label = self._label("adminLink", "Open the record in its service")
        head.addWidget(self.admin_label)
        return self.header

    # ------------------------------------------------------------------ colours

    def _apply_tones(self) -> None:
        """Colour the chip, the boxes and the marked rows from the palette in use now."""
        palette = self.palette()
        bg, fg = tone_colours(self._status_tone, palette)
        self.status_chip.setStyleSheet(
            f"QLabel#statusChip {{ background: {bg}; color: {fg}; border-radius: 9px; "
            "padding: 2px 9px; font-weight: bold; }"
        )
        notice = self._tax_notice
        box_style(
            self.tax_flag, notice.tone if notice else None, palette, strong=bool(notice and notice.strong)
        )
        box_style(self.unknown_banner, Tone.WARNING, palette, strong=True)
        t = tones(palette)
        for table in (self.lines_table, self.preview_table, self.history_table):
            paint_marks(table, t)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and hasattr(self, "_built"):
            self._apply_tones()

    # ------------------------------------------------------------------ links

    def open_url(self, url: str) -> None:
        """Tell listeners, then open ``url`` in the browser (web links only)."""
        self.urlActivated.emit(url)
        qurl = QUrl(url.strip())
        if is_web_url(url) and qurl.isValid():
            if self.url_opener(qurl) is False:
                self.urlFailed.emit(url)
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
            self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.setFocusProxy(None)
            return
        if isinstance(record, Order):
            view = order_view(record, self._money)
        else:
            view = invoice_view(record, self._money)
        self._show_view(view)
        self._show_history(self.history)
        self._show_problems(record.problems)
        self._apply_tones()
        self._show_admin_link(record)
        self._scroll.verticalScrollBar().setValue(0)
        self._stack.setCurrentIndex(1)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusProxy(self._scroll)

    def focus_target(self) -> QWidget | None:
        """What takes focus in the pane: its scroll area while a record shows, else nothing."""
        return self._scroll if self.record is not None else None

    def _show_admin_link(self, record: Order | Invoice) -> None:
        link = self.admin_link(record)
        self.admin_label.setVisible(link is not None)
        if link is not None:
            label, url = link
            self.admin_label.setText(f'<a href="{html.escape(url, quote=True)}">{html.escape(label)} ↗</a>')
            self.admin_label.setToolTip(url)

    def _show_view(self, view: RecordView) -> None:
        self.source_icon.setPixmap(icon(view.icon).pixmap(28, 28))
        self.source_icon.setToolTip(view.icon_tip)
        self.title.setText(view.title)
        status = capped(view.status, 80)
        self._status_tone = view.status_tone
        self.status_chip.setText(status)
        self.status_chip.setAccessibleName(f"Status: {status}")
        self.meta.setText(view.meta)
        self.totals.setText(view.totals)

        self.customer.setText(view.customer)
        self._tax_notice = view.tax_flag
        if view.tax_flag is not None:
            self.tax_flag.setText(view.tax_flag.html)
            self.tax_flag.setAccessibleName(view.tax_flag.accessible)
        self.tax_flag.setVisible(view.tax_flag is not None)
        self.billing.setText(view.billing or "")
        self.billing.setVisible(view.billing is not None)
        self.shipping.setText(view.shipping)

        self.items_section.setTitle(view.items_title)
        self.lines_table.fill(view.items)
        self._show_preview(view.preview)
        self.shipments_section.setTitle(view.shipments_title)
        self.shipments.setText(view.shipments)
        self.documents.setText(view.documents or "")
        self.documents_section.setVisible(view.documents is not None)

    def _show_preview(self, view: PreviewView | None) -> None:
        self.preview_section.setVisible(view is not None)
        if view is None:
            return
        self.preview = view.preview
        self.preview_intro.setText(view.intro)
        self.preview_table.fill(view.rows)
        self.preview_table.setVisible(bool(view.rows))
        self.preview_totals.setText(view.totals)
        self.preview_notes.setText(view.notes)
        self.preview_notes.setVisible(bool(view.notes))

    def _show_history(self, entries: Sequence[JournalEntry]) -> None:
        view = history_view(entries)
        if view.banner:
            self.unknown_banner.setText(view.banner)
        self.unknown_banner.setVisible(bool(view.banner))
        self.history_empty.setVisible(not view.rows)
        self.history_table.setVisible(bool(view.rows))
        self.history_table.fill(view.rows)
        self.history_section.setTitle(view.title)

    def _show_problems(self, problems: Sequence[str]) -> None:
        self.notes_section.setVisible(bool(problems))
        if problems:
            self.data_notes.setText(data_notes_html(problems))
