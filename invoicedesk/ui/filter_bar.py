"""The filters above the list: which records, in which state, when, a search box, and the
one-click views of the work waiting ("Needs invoice (12)", "To send (5)"...).

Every change emits ``queryChanged`` with a new :class:`~invoicedesk.cache.Query`; typing in
the search box waits ~150 ms for a pause first, so a fast typist costs one query, not one per
key. The views' counts are worked out by the window off the GUI thread (they are SQL counts
over the cache) and handed in with :meth:`FilterBar.set_view_counts`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from invoicedesk.cache import Query
from invoicedesk.config import Config

SEARCH_DEBOUNCE_MS = 150

# (label, source, status): the status filter speaks staff words; "Paid" means paid in both.
STATUS_CHOICES: tuple[tuple[str, str | None, str | None], ...] = (
    ("Any status", None, None),
    ("Paid", None, "paid"),
    ("Pending payment (orders)", "jumpseller", "pending_payment"),
    ("Cancelled (orders)", "jumpseller", "canceled"),
    ("Abandoned (orders)", "jumpseller", "abandoned"),
    ("Sent (invoices)", "marketplacer", "sent"),
    ("Partially sent (invoices)", "marketplacer", "partially_sent"),
    ("Ready for collection (invoices)", "marketplacer", "ready"),
    ("Collected (invoices)", "marketplacer", "collected"),
    ("Refunded (invoices)", "marketplacer", "refunded"),
    ("Cancelled (invoices)", "marketplacer", "cancelled"),
)



class View(NamedTuple):
    """A one-click view: the records waiting for one kind of work."""

    name: str  # object name suffix and key
    label: str
    needs: tuple[str, ...]  # need codes (``invoicedesk.needs``)
    tip: str


VIEWS: tuple[View, ...] = (
    View("needsInvoice", "Needs invoice", ("invoice", "check_documents"),
         "Paid orders without an invoice (and those whose documents need a look first)"),
    View("toSend", "To send", ("mark_sent",), "Buy Online invoices to mark sent, with tracking"),
    View("readyForPickup", "Ready for pickup", ("mark_ready",),
         "Click and Collect invoices to get ready and mark ready for collection"),
    View("creditNoteOwed", "Credit note owed", ("credit_note",),
         "Cancelled orders that were invoiced: a credit note is owed"),
    View("outcomeUnknown", "Outcome unknown", ("outcome_unknown",),
         "Actions that got no answer: check at the service before retrying"),
)

# Every need code a view counts.
VIEW_CODES: tuple[str, ...] = tuple(code for view in VIEWS for code in view.needs)

DATE_CHOICES: tuple[tuple[str, int | None], ...] = (
    ("Any date", None),
    ("Today", 0),
    ("Last 7 days", 7),
    ("Last 30 days", 30),
    ("Last 90 days", 90),
    ("Custom range…", -1),
)


def account_choice(source: str | None, name: str | None) -> str:
    """A combo item's data: "source:name" (a string, so ``findData`` can match it)."""
    return f"{source or ''}:{name or ''}"


def parse_choice(data: object) -> tuple[str | None, str | None]:
    source, _, name = str(data or ":").partition(":")
    return source or None, name or None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0)).astimezone()


class FilterBar(QWidget):
    """Account/source, status, needs action, date range and search; emits the resulting query."""

    queryChanged = Signal(Query)

    def __init__(self, config: Config, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterBar")
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        layout = QHBoxLayout()
        layout.setContentsMargins(6, 4, 6, 0)
        layout.setSpacing(6)
        rows.addLayout(layout)

        self.account_combo = QComboBox(objectName="accountFilter")
        self.account_combo.setAccessibleName("Show records from")
        self.account_combo.setToolTip("Which store, marketplace seller or service to show")
        self.account_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.set_accounts(config)

        self.status_combo = QComboBox(objectName="statusFilter")
        self.status_combo.setAccessibleName("Status")
        self.status_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for text, source, status in STATUS_CHOICES:
            self.status_combo.addItem(text, account_choice(source, status))

        self.needs_action = QCheckBox("Needs action", objectName="needsActionFilter")
        self.needs_action.setAccessibleName("Show only records that need action")
        self.needs_action.setToolTip(
            "Only orders to invoice or credit, and invoices to mark sent, ready or collected"
        )

        self.date_combo = QComboBox(objectName="dateFilter")
        self.date_combo.setAccessibleName("Date range")
        for text, days in DATE_CHOICES:
            self.date_combo.addItem(text, days)
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-30), objectName="dateFrom")
        self.date_to = QDateEdit(today, objectName="dateTo")
        for edit, name in ((self.date_from, "From date"), (self.date_to, "To date (inclusive)")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setAccessibleName(name)
            edit.setVisible(False)
        self.date_dash = QLabel("–")
        self.date_dash.setVisible(False)

        self.search_edit = QLineEdit(objectName="searchEdit")
        self.search_edit.setPlaceholderText("Search number, customer, email, SKU, tracking…  (Ctrl+F)")
        self.search_edit.setAccessibleName("Search")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMinimumWidth(260)

        layout.addWidget(self.account_combo)
        layout.addWidget(self.status_combo)
        layout.addWidget(self.needs_action)
        layout.addWidget(self.date_combo)
        layout.addWidget(self.date_from)
        layout.addWidget(self.date_dash)
        layout.addWidget(self.date_to)
        layout.addWidget(self.search_edit, 1)

        views = QHBoxLayout()
        views.setContentsMargins(6, 0, 6, 2)
        views.setSpacing(4)
        views_title = QLabel("Views:")
        views.addWidget(views_title)
        # One view at a time (a second click on the view in use leaves it): kept by
        # ``_view_toggled``, not a button group, so that each view is its own Tab stop.
        self.view_buttons: dict[str, QToolButton] = {}
        self.view_counts: dict[str, int | None] = {}
        for view in VIEWS:
            button = QToolButton(objectName=f"view_{view.name}")
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setToolTip(view.tip)
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.toggled.connect(lambda on, v=view: self._view_toggled(v, on))
            self.view_buttons[view.name] = button
            self.view_counts[view.name] = None
            views.addWidget(button)
        views.addStretch(1)
        rows.addLayout(views)
        self._view: View | None = None
        self._show_view_labels()

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit)
        self.search_edit.textChanged.connect(lambda _t: self._debounce.start())
        self.search_edit.returnPressed.connect(self._emit_now)
        self.account_combo.currentIndexChanged.connect(self._emit_now)
        self.status_combo.currentIndexChanged.connect(self._status_changed)
        self.needs_action.toggled.connect(self._status_changed)
        self.date_combo.currentIndexChanged.connect(self._date_choice_changed)
        self.date_from.dateChanged.connect(self._emit_now)
        self.date_to.dateChanged.connect(self._emit_now)
        self._last: Query | None = None

    def set_accounts(self, config: Config) -> None:
        """Rebuild the account list (after the Accounts dialog), keeping the choice if it still exists."""
        current = self.account_combo.currentData()
        self.account_combo.blockSignals(True)
        self.account_combo.clear()
        self.account_combo.addItem("All accounts", account_choice(None, None))
        if config.jumpseller:
            self.account_combo.addItem("All Jumpseller orders", account_choice("jumpseller", None))
        if config.marketplacer:
            self.account_combo.addItem("All Marketplacer invoices", account_choice("marketplacer", None))
        for acc in config.accounts:
            kind = "Jumpseller store" if acc.source == "jumpseller" else "Marketplacer seller"
            self.account_combo.addItem(f"{acc.name} ({kind})", account_choice(acc.source, acc.name))
        found = self.account_combo.findData(current) if current is not None else -1
        self.account_combo.setCurrentIndex(max(found, 0))
        self.account_combo.blockSignals(False)

    # ------------------------------------------------------------------ the query

    def query(self) -> Query:
        source, account = parse_choice(self.account_combo.currentData())
        status_source, status = parse_choice(self.status_combo.currentData())
        if status_source and source and status_source != source:
            status = "-"  # an order status on invoices (or the reverse): nothing matches
        elif status_source and not source:
            source = status_source
        date_from, date_to = self._date_range()
        return Query(
            source=source,
            account=account,
            status=status,
            needs_action=self.needs_action.isChecked(),
            search=self.search_edit.text().strip(),
            date_from=date_from,
            date_to=date_to,
            needs=self._view.needs if self._view is not None else (),
        )

    # ------------------------------------------------------------------ the views

    def views_query(self) -> Query:
        """What the views' counts count: the records a view would show if clicked now (the
        accounts, dates and search chosen; a view sets status and "needs action" aside)."""
        source, account = parse_choice(self.account_combo.currentData())
        date_from, date_to = self._date_range()
        return Query(
            source=source,
            account=account,
            search=self.search_edit.text().strip(),
            date_from=date_from,
            date_to=date_to,
        )

    def set_view_counts(self, by_need: dict[str, int]) -> None:
        """Show the counts, given how many records wait for each need code in :meth:`views_query`."""
        for view in VIEWS:
            self.view_counts[view.name] = sum(by_need.get(code, 0) for code in view.needs)
        self._show_view_labels()

    def current_view(self) -> str | None:
        return self._view.name if self._view is not None else None

    def _show_view_labels(self) -> None:
        for view in VIEWS:
            n = self.view_counts[view.name]
            button = self.view_buttons[view.name]
            button.setText(f"{view.label} ({n:,})" if n is not None else view.label)
            button.setAccessibleName(
                f"{view.label}: {n:,} records" if n is not None else f"{view.label}: counting"
            )

    def _view_toggled(self, view: View, on: bool) -> None:
        if on:
            for name, button in self.view_buttons.items():
                if name != view.name and button.isChecked():
                    button.blockSignals(True)
                    button.setChecked(False)
                    button.blockSignals(False)
            self._view = view
            # A view is a kind of work: a status or "needs action" choice would only contradict it.
            for w in (self.status_combo, self.needs_action):
                w.blockSignals(True)
            self.status_combo.setCurrentIndex(0)
            self.needs_action.setChecked(False)
            for w in (self.status_combo, self.needs_action):
                w.blockSignals(False)
        elif self._view is view:
            self._view = None
        self._emit_now()

    def _leave_view(self) -> None:
        """A status or "needs action" choice ends the view in use."""
        if self._view is None:
            return
        button = self.view_buttons[self._view.name]
        button.blockSignals(True)
        button.setChecked(False)
        button.blockSignals(False)
        self._view = None

    def _date_range(self) -> tuple[datetime | None, datetime | None]:
        days = self.date_combo.currentData()
        today = date.today()
        if days is None:
            return None, None
        if days == -1:
            start = self.date_from.date().toPython()
            end = self.date_to.date().toPython()
            if end < start:
                start, end = end, start
            return _local_midnight(start), _local_midnight(end + timedelta(days=1))
        return _local_midnight(today - timedelta(days=days)), None

    def clear(self) -> None:
        """Back to everything (used by "show all" in an empty search result)."""
        for w in (
            self.account_combo,
            self.status_combo,
            self.date_combo,
            self.needs_action,
            self.search_edit,
        ):
            w.blockSignals(True)
        self.account_combo.setCurrentIndex(0)
        self.status_combo.setCurrentIndex(0)
        self.date_combo.setCurrentIndex(0)
        self.needs_action.setChecked(False)
        self.search_edit.clear()
        self._leave_view()
        for w in (
            self.account_combo,
            self.status_combo,
            self.date_combo,
            self.needs_action,
            self.search_edit,
        ):
            w.blockSignals(False)
        self._show_custom_dates(False)
        self._emit_now()

    def is_filtered(self) -> bool:
        return self.query() != Query()

    # ------------------------------------------------------------------ slots

    def stop_pending(self) -> None:
        """Drop a query still waiting for the typing pause (the window is closing)."""
        self._debounce.stop()

    def focus_search(self) -> None:
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    def _status_changed(self) -> None:
        self._leave_view()
        self._emit_now()

    def _date_choice_changed(self) -> None:
        self._show_custom_dates(self.date_combo.currentData() == -1)
        self._emit_now()

    def _show_custom_dates(self, visible: bool) -> None:
        for w in (self.date_from, self.date_dash, self.date_to):
            w.setVisible(visible)

    def _emit_now(self) -> None:
        self._debounce.stop()
        self._emit()

    def _emit(self) -> None:
        q = self.query()
        if q == self._last:
            return
        self._last = q
        self.queryChanged.emit(q)
