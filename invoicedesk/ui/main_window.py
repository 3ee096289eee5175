"""The main window: what staff see all day.

Toolbar (sync and the one-click actions), the filter bar, the combined list beside the
detail pane, and a status bar with the sync's progress, when each account was last synced
and whether it can be reached. Work that talks to the network runs in the
:class:`~invoicedesk.ui.controller.Controller`; the window only starts it and shows what
came back, in the inline message bar.

This module builds the window and keeps the list and the selection. Four rooms live beside
it as mixins: :mod:`~invoicedesk.ui.window_status` (status bar, sync progress, account
states, the views' counts), :mod:`~invoicedesk.ui.window_actions` (run, confirm, retry, Mark
Sent), :mod:`~invoicedesk.ui.window_export` (copy and CSV export) and
:mod:`~invoicedesk.ui.window_links` (links out to the services, and what happens when no
browser opens them).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from functools import partial
from itertools import pairwise
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from invoicedesk import APP_NAME
from invoicedesk.action_table import ACTIONS, CHANGING, ActionName
from invoicedesk.actions import Actions
from invoicedesk.cache import Cache, JournalEntry, Query
from invoicedesk.config import Config
from invoicedesk.domain import Invoice, Order, Source
from invoicedesk.services import Services
from invoicedesk.sync import Syncer, SyncProgress
from invoicedesk.ui import auto_sync
from invoicedesk.ui.controller import Controller
from invoicedesk.ui.detail_pane import DetailPane
from invoicedesk.ui.filter_bar import FilterBar
from invoicedesk.ui.icons import icon
from invoicedesk.ui.message_bar import MessageBar
from invoicedesk.ui.new_records import NewToActOn
from invoicedesk.ui.palette import is_dark, themed_icon, tones
from invoicedesk.ui.records_model import (
    PAGE_SIZE,
    Column,
    Key,
    ListHeader,
    RecordsDelegate,
    RecordsModel,
    money_locale,
    record_key,
    warm_up,
)
from invoicedesk.ui.shortcuts_dialog import ShortcutsDialog, shortcut_rows
from invoicedesk.ui.window_actions import RETRY_TIP, RecordActionsMixin
from invoicedesk.ui.window_export import CopyExportMixin
from invoicedesk.ui.window_layout import WindowFit, place_window
from invoicedesk.ui.window_links import LinksMixin
from invoicedesk.ui.window_status import LIVE_REFRESH_MS, PROGRESS_MS, SyncStatusMixin

if TYPE_CHECKING:  # the dialogs and the welcome load when first shown, not before the first paint
    from invoicedesk.ui.accounts_dialog import AccountsDialog
    from invoicedesk.ui.mark_sent_dialog import MarkSentDialog
    from invoicedesk.ui.welcome import WelcomePage

log = logging.getLogger(__name__)

# The widest text each column usually holds: default widths follow the user's font.
COLUMN_SAMPLES: dict[Column, str] = {
    Column.SOURCE: "Marketplacer",
    Column.ACCOUNT: "tienda-demo",
    Column.ID: "123456",
    Column.DATE: "2026-12-31 23:59",
    Column.CUSTOMER: "Fernanda Sepúlveda",
    Column.TOTAL: "CLP197,574",
    Column.STATUS: "Pending payment",
    Column.DELIVERY: "Click and Collect",
    Column.INVOICE: "INV-tienda-demo-12",
    Column.NEEDS_ACTION: "Credit note owed",
}

ACTION_OBJECT_NAMES: dict[str, str] = {str(n): ACTIONS[n].object_name for n in CHANGING}


def list_keys() -> list[tuple[str, str]]:
    """Keys the list handles itself (see ``MainWindow.eventFilter``), for the shortcuts list."""
    copy = QKeySequence(QKeySequence.StandardKey.Copy).toString(QKeySequence.SequenceFormat.NativeText)
    return [
        ("Enter", "Show the selected record's details (from the list)"),
        (copy, "Copy the selected rows (from the list)"),
        ("Tab", "Next area: filters, views, list, details, then back to the search"),
        ("Enter / Down", "From the search box: on to the list, at the first match"),
    ]


def _source_icon(source: Source) -> object:
    return icon(source.value)


class MainWindow(SyncStatusMixin, RecordActionsMixin, CopyExportMixin, LinksMixin, QMainWindow):
    """The combined list, the details of the selected record, and the actions that apply to it."""

    closed = Signal()

    def __init__(
        self,
        services: Services,
        cache: Cache,
        syncer: Syncer,
        actions: Actions,
        *,
        demo: bool = False,
        settings: QSettings | None = None,
        sync_on_start: bool = True,
    ) -> None:
        super().__init__()
        self.services = services
        self.cache = cache
        self.demo = demo
        self.settings = settings
        self.sync_on_start = sync_on_start
        self.controller = Controller(services, cache, syncer, actions, self)
        self.controller.before_finished = self._read_list_ahead
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"{APP_NAME} — Demo data" if demo else APP_NAME)

        self._record: Order | Invoice | None = None
        self._key: Key | None = None
        self._restoring = False
        self._scroll_before_reset = 0
        self._progress: dict[str, SyncProgress] = {}
        self._live_dirty = False
        self._count_generation = 0
        self._view_generation = 0
        self.url_opener = QDesktopServices.openUrl  # False when no browser answered (see window_links)
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self._counting: Query | None = None
        self._exports: list[asyncio.Task[int]] = []
        self.export_dialog: QFileDialog | None = None
        self.mark_sent_dialog: MarkSentDialog | None = None
        self.accounts_dialog: AccountsDialog | None = None

        self._build_actions()
        self._build_toolbar()
        self._build_central()
        self._build_bulk()
        self._build_status_bar()
        self._build_shortcuts()
        self._connect()
        self._restore_settings()

        self.model.set_query(self.filter_bar.query())
        self._update_count()
        QTimer.singleShot(0, self._update_view_counts)
        self._update_actions()
        self._update_accounts()
        # Load money formats and the date parser once the window is up, not in the middle
        # of the first rows arriving from a sync.
        QTimer.singleShot(0, partial(warm_up, money_locale()))

    # ================================================================== construction

    def _action(self, text: str, name: str, icon_name: str, tip: str) -> QAction:
        act = QAction(themed_icon(icon_name, is_dark()), text, self)
        act.setProperty("iconName", icon_name)
        act.setObjectName(name)
        act.setToolTip(tip)
        act.setStatusTip(tip)
        return act

    def _build_actions(self) -> None:
        self.sync_action = self._action(
            "Sync", "syncAction", "sync", "Fetch what changed in every account (F5)"
        )
        self.sync_action.setShortcut(QKeySequence(Qt.Key.Key_F5))
        self.deep_sync_action = QAction("Sync and re-check older orders", self)
        self.deep_sync_action.setObjectName("deepSyncAction")
        self.deep_sync_action.setToolTip(
            "Also look for older orders that were paid or cancelled since (a few more requests)"
        )
        self.sync_menu = QMenu(self)
        self.sync_menu.addAction(self.deep_sync_action)
        self.sync_action.setMenu(self.sync_menu)

        self.action_buttons: dict[str, QAction] = {}
        for name in CHANGING:
            spec = ACTIONS[name]
            act = self._action(spec.button, spec.object_name, spec.icon, spec.tip)
            self.action_buttons[str(name)] = act
        self.create_invoice_action = self.action_buttons["invoice"]
        self.credit_note_action = self.action_buttons["credit_note"]
        self.mark_sent_action = self.action_buttons["mark_sent"]
        self.mark_ready_action = self.action_buttons["mark_ready"]
        self.mark_collected_action = self.action_buttons["mark_collected"]
        self.create_invoice_action.setShortcut(QKeySequence("Ctrl+I"))
        # Shown only while the selected record has an action of unknown outcome.
        check = ACTIONS[ActionName.CHECK]
        self.check_action = self._action(check.button, check.object_name, check.icon, check.tip)
        self.retry_action = self._action("Retry…", "retryAction", "invoice", RETRY_TIP)
        self.check_action.setVisible(False)
        self.retry_action.setVisible(False)
        self.confirm_box: QMessageBox | None = None

        self.export_action = self._action(
            "Export CSV", "exportCsvAction", "export", "Save every record of the current view as a CSV file"
        )
        self.accounts_action = self._action(
            "Accounts", "accountsAction", "accounts", "Add, change or test store and marketplace accounts"
        )
        self.open_admin_action = QAction("Open in the service's admin pages", self)
        self.open_admin_action.setObjectName("openAdminAction")
        self.open_admin_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.open_admin_action.setToolTip(
            "Open the selected order in Jumpseller admin, or the invoice in the Marketplacer portal"
        )
        self.shortcuts_action = QAction("Keyboard shortcuts", self)
        self.shortcuts_action.setObjectName("shortcutsAction")
        self.shortcuts_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        for act in (
            self.sync_action,
            *self.action_buttons.values(),
            self.check_action,
            self.retry_action,
            self.export_action,
            self.accounts_action,
            self.open_admin_action,
            self.shortcuts_action,
        ):
            self.addAction(act)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Actions", self)
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addAction(self.sync_action)
        tb.addSeparator()
        for act in self.action_buttons.values():
            tb.addAction(act)
        tb.addAction(self.check_action)
        tb.addAction(self.retry_action)
        tb.addSeparator()
        tb.addAction(self.export_action)
        tb.addAction(self.accounts_action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        record_menu = self.menuBar().addMenu("&Record")
        record_menu.setObjectName("recordMenu")
        for act in (*self.action_buttons.values(), self.check_action, self.retry_action):
            record_menu.addAction(act)
        record_menu.addSeparator()
        record_menu.addAction(self.open_admin_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.setObjectName("helpMenu")
        help_menu.addAction(self.shortcuts_action)
        self.help_menu = help_menu
        self.toolbar = tb
        names = {
            self.sync_action: "syncButton",
            self.export_action: "exportCsvButton",
            self.accounts_action: "accountsButton",
            self.check_action: "checkButton",
            self.retry_action: "retryButton",
        }
        for name, act in self.action_buttons.items():
            names[act] = ACTION_OBJECT_NAMES[name].replace("Action", "Button")
        for act, name in names.items():
            w = tb.widgetForAction(act)
            if w is not None:
                w.setObjectName(name)
                w.setAccessibleName(act.text())
        sync_button = tb.widgetForAction(self.sync_action)
        if isinstance(sync_button, QToolButton):
            sync_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)

    def _build_central(self) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 4, 6, 0)
        layout.setSpacing(4)

        self.demo_banner = QLabel(
            "Demo data: a built-in sandbox plays the store, the marketplace and the invoicing "
            "service. Nothing here reaches a real shop.",
            objectName="demoBanner",
        )
        self.demo_banner.setWordWrap(True)
        self.demo_banner.setVisible(self.demo)
        layout.addWidget(self.demo_banner)

        self.filter_bar = FilterBar(self.services.config, central)
        layout.addWidget(self.filter_bar)

        # Its space is kept while no message shows: the list below never moves (message_bar.py).
        self.message_bar = MessageBar(central)
        layout.addWidget(self.message_bar)

        self.model = RecordsModel(self.cache, icons=_source_icon, parent=self)  # type: ignore[arg-type]
        self.table = QTableView(objectName="recordsTable")
        self.table.setHorizontalHeader(ListHeader(self.table))  # sort arrows as staff read them
        self.table.setAccessibleName("Orders and invoices")
        self.table.setModel(self.model)
        self.table.setItemDelegate(RecordsDelegate(self.model, self.table))
        # Latin names and numbers need no OpenType shaping; scripts that do still get it.
        list_font = self.table.font()
        list_font.setStyleStrategy(QFont.StyleStrategy.PreferNoShaping)
        self.table.setFont(list_font)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setTabKeyNavigation(False)  # Tab leaves the list for the details
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.table.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(max(self.fontMetrics().height() + 8, 22))
        hh = self.table.horizontalHeader()
        hh.setSectionsMovable(True)
        hh.setHighlightSections(False)
        hh.setStretchLastSection(True)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        fm = self.table.fontMetrics()
        bold = self.table.font()
        bold.setBold(True)
        names = [a.name for a in self.services.config.accounts]
        for col, sample in COLUMN_SAMPLES.items():
            if col == Column.ACCOUNT and names:
                sample = max(names, key=fm.horizontalAdvance)
            metrics = QFontMetrics(bold) if col == Column.NEEDS_ACTION else fm  # shown in bold
            extra = 16 + (20 if col == Column.SOURCE else 0)  # cell padding (+ the service icon)
            self.table.setColumnWidth(col, min(metrics.horizontalAdvance(sample) + extra, 220))
        # What a record waits for matters more than how it ships: shown right after its status.
        hh.moveSection(hh.visualIndex(Column.NEEDS_ACTION), hh.visualIndex(Column.STATUS) + 1)
        hh.setSortIndicator(Column.DATE, Qt.SortOrder.DescendingOrder)
        self.table.setSortingEnabled(True)

        self.detail = self._make_detail_pane()

        self.splitter = QSplitter(Qt.Orientation.Horizontal, central)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([980, 460])
        # No account yet: a welcome with the ways on, in place of an empty list (built when
        # first needed: with accounts it never is).
        self.welcome: WelcomePage | None = None
        self.pages = QStackedWidget(central, objectName="mainPages")
        self.pages.addWidget(self.splitter)
        self.pages.setCurrentWidget(self.splitter)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self._apply_tones()

    def _make_detail_pane(self) -> DetailPane:
        pane = DetailPane(self, url_opener=lambda url: self.url_opener(url), locale=money_locale())
        pane.setMinimumWidth(320)
        pane.admin_link = lambda record: self._admin_link(record.summary().source.value,
                                                          record.summary().account, record.summary().id)
        return pane

    def _build_shortcuts(self) -> None:
        self.find_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        self.find_shortcut.setWhatsThis("Search")
        self.find_shortcut.activated.connect(self.filter_bar.focus_search)
        # Ctrl+Q quits everywhere (Qt's Quit key is empty on some desktops); closing goes
        # through closeEvent, so settings are saved and running work is shut down as usual.
        self.quit_shortcut = QShortcut(QKeySequence("Ctrl+Q"), self)
        self.quit_shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_shortcut.setWhatsThis("Quit InvoiceDesk")
        self.quit_shortcut.activated.connect(self.close)
        # Esc: in the search box it clears the search; anywhere else it returns to the list.
        self.escape_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.escape_shortcut.setWhatsThis("Clear the search, or go back to the list")
        self.escape_shortcut.activated.connect(self.back_to_list)
        # Enter and Ctrl+C on the list: an event filter, because the view handles both keys
        # itself (Enter starts editing, Ctrl+C copies one cell) before a widget shortcut fires.
        self.table.installEventFilter(self)
        # Enter (after applying the search at once) and Down in the search box go on to the list.
        self.filter_bar.search_edit.installEventFilter(self)
        self.filter_bar.search_edit.returnPressed.connect(self.search_to_list)
        self._build_tab_order()

    def _build_tab_order(self) -> None:
        """Tab goes filters → views → message → list → details, then back to the search."""
        fb = self.filter_bar
        chain: list[QWidget] = [
            fb.search_edit,
            fb.account_combo,
            fb.status_combo,
            fb.needs_action,
            fb.date_combo,
            fb.date_from,
            fb.date_to,
            *fb.view_buttons.values(),
            self.message_bar.label,
            self.message_bar.copy_button,
            self.message_bar.close_button,
            self.table,
            self.detail.scroll_area,
            fb.search_edit,
        ]
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    def show_shortcuts(self) -> ShortcutsDialog:
        """Help → Keyboard shortcuts: the list is read from the window's actions each time."""
        if self.shortcuts_dialog is not None:
            self.shortcuts_dialog.close()
            self.shortcuts_dialog.deleteLater()
        dialog = ShortcutsDialog(shortcut_rows(self, list_keys()), self)
        self.shortcuts_dialog = dialog
        dialog.open()
        return dialog

    def _connect(self) -> None:
        c = self.controller
        self.sync_action.triggered.connect(self.start_sync)
        self.deep_sync_action.triggered.connect(partial(self.start_sync, deep=True))
        self.cancel_sync_button.clicked.connect(c.cancel_sync)
        self.create_invoice_action.triggered.connect(partial(self.run_action, "invoice"))
        self.credit_note_action.triggered.connect(partial(self.run_action, "credit_note"))
        self.mark_ready_action.triggered.connect(partial(self.run_action, "mark_ready"))
        self.mark_collected_action.triggered.connect(partial(self.run_action, "mark_collected"))
        self.mark_sent_action.triggered.connect(self.open_mark_sent)
        self.check_action.triggered.connect(partial(self.run_action, "check"))
        self.retry_action.triggered.connect(self.ask_retry)
        self.export_action.triggered.connect(self.ask_export_csv)
        self.accounts_action.triggered.connect(lambda: self.open_accounts())
        self.message_bar.linkActivated.connect(self.open_link)
        self.detail.urlFailed.connect(self._link_failed)
        self.open_admin_action.triggered.connect(self.open_admin)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.table.doubleClicked.connect(self._on_double_click)

        self.filter_bar.queryChanged.connect(self._on_query_changed)
        self.model.modelAboutToBeReset.connect(self._before_reset)
        self.model.readFailed.connect(self._cache_read_failed)
        self.model.modelReset.connect(self._after_reset)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.model.rowsInserted.connect(lambda *_: self._update_count())

        c.syncStarted.connect(self._on_sync_started)
        c.syncProgress.connect(self._on_sync_progress)
        c.syncFinished.connect(self._on_sync_finished)
        c.syncStarted.connect(partial(self.model.set_syncing, True))
        c.syncFinished.connect(lambda _results: self.model.set_syncing(False))
        c.accountsChanged.connect(self._update_accounts)
        c.accountsChanged.connect(self._show_welcome_or_list)
        self.new_records = NewToActOn(
            self,
            lambda: self.cache,
            self.model,
            lambda: {s.name for s in c.states() if s.last_synced_at is None},
            lambda: self._key,
            c.spawn,
        )
        c.syncStarted.connect(self.new_records.sync_started)
        c.syncFinished.connect(self.new_records.sync_finished)
        self.table.selectionModel().currentRowChanged.connect(self.new_records.current_changed)
        self.filter_bar.needs_action.toggled.connect(self.new_records.filter_changed)
        c.actionStarted.connect(lambda _a, _k: self._update_actions())
        c.actionFinished.connect(self._on_action_finished)
        # The outcome shown just now is about that record: it goes when another one is shown.
        c.actionFinished.connect(lambda report: self.message_bar.tie_to_record(report.key))
        c.actionFinished.connect(lambda _r: self._update_view_counts())
        c.recordsChanged.connect(self._on_records_changed)
        c.teamChanged.connect(lambda _keys: self._update_view_counts())
        self.filter_bar.queryChanged.connect(lambda _q: self._update_view_counts())
        c.teamChanged.connect(self._on_team_changed)

        self._live = QTimer(self)
        self._live.setSingleShot(True)
        self._live.setInterval(LIVE_REFRESH_MS)
        self._live.timeout.connect(self._live_refresh)
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_MS)
        self._progress_timer.timeout.connect(self._show_progress)

    # ================================================================== start and stop

    def start(self) -> asyncio.Task[None]:
        """Start-up work: finish interrupted actions, then the first sync (or a connection check)."""
        return self.controller.start(sync=self.sync_on_start)

    async def ready(self) -> None:
        """Resolves once start-up work has finished (smoke runs, screenshots, tests)."""
        await asyncio.shield(self.start())

    async def shutdown(self) -> None:
        # A search still waiting for the typing pause must not query a cache being closed.
        self.filter_bar.stop_pending()
        await self.controller.shutdown()
        self.new_records.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_settings()
        super().closeEvent(event)
        self.closed.emit()

    def _restore_settings(self) -> None:
        s = self.settings
        self.fit = WindowFit(
            self,
            self.splitter,
            self.table,
            toolbar=self.toolbar,
            squeezable=(self.filter_bar, self.statusBar()),
        )
        place_window(self, s.value("window/geometry") if s is not None else None)
        self._show_welcome_or_list()
        minutes = self.services.config.auto_sync_minutes
        if s is not None:
            minutes = auto_sync.saved_minutes(s.value(auto_sync.SETTINGS_KEY), minutes)
        self.controller.set_auto_sync(minutes)
        auto_sync.build_menu(self.sync_menu, minutes, self.set_auto_sync)
        if s is None:
            self.fit.fit()
            return
        header = s.value("table/header")
        hh = self.table.horizontalHeader()
        restored = isinstance(header, QByteArray | bytes) and hh.restoreState(header)
        if restored:
            self.model.sort(hh.sortIndicatorSection(), hh.sortIndicatorOrder())
        self.fit.restore(s.value("window/splitter"), restored)

    def _save_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/splitter", self.fit.splitter_state())
        s.setValue("table/header", self.fit.header_state())
        s.sync()

    # ================================================================== the list

    def _on_query_changed(self, query: Query) -> None:
        self.model.set_query(query)  # the reset updates the count

    def _before_reset(self) -> None:
        self._restoring = True
        self._scroll_before_reset = self.table.verticalScrollBar().value()

    def _after_reset(self) -> None:
        # Lay the rows out now: left to the view's own zero timer, the layout comes after the
        # first paint and the whole list is painted twice (the stall when a sync first fills it).
        self.table.doItemsLayout()
        try:
            row = self.model.row_of_key(self._key) if self._key is not None else None
            if row is not None:
                self.table.selectionModel().setCurrentIndex(
                    self.model.index(row, Column.ID),  # never hidden on a narrow window
                    self.table.selectionModel().SelectionFlag.ClearAndSelect
                    | self.table.selectionModel().SelectionFlag.Rows,
                )
            if row is not None and self.model.last_reset == "sort":
                # A new order: the selected record moved, the view follows it.
                self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
            else:
                self.table.verticalScrollBar().setValue(self._scroll_before_reset)
        finally:
            self._restoring = False
        if row is None and self._key is not None:
            self._select_key(None)
        self._update_count()

    def _cache_read_failed(self, error: object) -> None:
        """The list could not read the cache: say so once (the sentence names the file and what
        to do); the list keeps what it shows, and a damaged file is set aside at the next start."""
        self.message_bar.show_message("error", str(error), condition="cache")

    def _on_current_changed(self, current: object, _previous: object) -> None:
        if self._restoring:
            return
        row = current.row() if current.isValid() else -1  # type: ignore[attr-defined]
        summary = self.model.summary(row)
        self._select_key(record_key(summary) if summary is not None else None)

    def _select_key(self, key: Key | None) -> None:
        self._key = key
        self.message_bar.record_shown(key)
        self.model.selected_key = key  # a sort keeps it in the list
        self._load_record()

    def _load_record(self) -> None:
        """Read the selected record in full (and its history) for the details and the buttons."""
        if self._key is None:
            self._record = None
            history: list[JournalEntry] = []
        else:
            self._record = self.cache.get(*self._key)
            history = self.cache.journal(*self._key)
        self.detail.show_record(self._record, history)
        self._update_actions()

    def select_record(self, source: str, account: str, record_id: str) -> bool:
        """Select a record by its identity (tests, links); ``False`` when it is not in the list."""
        key = (source, account, str(record_id))
        row = self.model.load_to_key(key)  # one count and one read, however deep it stands
        if row is None:
            return False
        index = self.model.index(row, Column.ID)  # a column never hidden: scrollTo skips hidden ones
        self.table.selectionModel().setCurrentIndex(
            index,
            self.table.selectionModel().SelectionFlag.ClearAndSelect
            | self.table.selectionModel().SelectionFlag.Rows,
        )
        self.table.scrollTo(index)
        return True

    @property
    def selected_record(self) -> Order | Invoice | None:
        return self._record

    def _update_count(self) -> None:
        """ "N of M records" in the status bar; a big N is counted off the GUI thread.

        Counting every match of a one-letter search over 100,000 records takes 0.2 s of
        SQLite: on the GUI thread that would stall typing in the search box. While it is
        counted the label says how many rows are loaded so far ("200+").
        """
        everything = self.cache.count()  # the whole table: an index count, well under 1 ms
        known = self.model.known_count()
        if known is not None:
            self._show_count(f"{known:,}", everything)
            return
        self._show_count(f"{self.model.rowCount():,}+", everything)
        query = self.model.query
        if self._counting == query:
            return  # already being counted (more rows were loaded meanwhile)
        self._counting = query
        self._count_generation += 1
        generation = self._count_generation

        async def count() -> None:
            try:
                n = await self.controller.count(query)
            finally:
                if self._counting == query:
                    self._counting = None
            if generation == self._count_generation and self.model.query == query:
                self.model.set_count(query, n)
                self._show_count(f"{n:,}", self.cache.count())

        self.controller.spawn(count())

    def _show_count(self, shown: str, everything: int) -> None:
        if self.filter_bar.is_filtered():
            self.count_label.setText(f"{shown} of {everything:,} records")
        else:
            self.count_label.setText(f"{shown} records")

    def _on_team_changed(self, keys: list[Key]) -> None:
        """Another desk fetched or changed these: rows in view change in place; new ones show
        at the next refresh, as during a sync."""
        self._on_records_changed(keys)
        if self.model.loaded_count() < PAGE_SIZE and not self.model.canFetchMore():
            self.model.refresh()
        self._update_count()

    def _on_records_changed(self, keys: list[Key]) -> None:
        self.model.refresh_keys(keys)
        if self._key is not None and self._key in keys:
            self._load_record()

    # ================================================================== keys on the list

    def back_to_list(self) -> None:
        """Esc: in a search box with text, clear it; else back to the list, the record kept."""
        search = self.filter_bar.search_edit
        if search.hasFocus() and search.text():
            search.clear()
            return
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def search_to_list(self) -> None:
        """From the search box to the list: the record whose number was typed in full, else the
        record staff were on if it matches, else the first match."""
        if self.model.rowCount() == 0:
            return
        sm = self.table.selectionModel()
        current = self.table.currentIndex()
        typed = self.filter_bar.search_edit.text().strip()
        # A number typed in full: that record, wherever the sort put it among the first page.
        rows = range(min(self.model.rowCount(), PAGE_SIZE))
        exact = next((r for r in rows if (s := self.model.summary(r)) and s.id == typed), None)
        if exact is not None:
            row = exact
        else:
            row = current.row() if current.isValid() and sm.isRowSelected(current.row()) else 0
        sm.setCurrentIndex(
            self.model.index(row, Column.ID),  # never hidden on a narrow window
            sm.SelectionFlag.ClearAndSelect | sm.SelectionFlag.Rows,
        )
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.filter_bar.search_edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
            and not event.modifiers()
        ):
            self.search_to_list()
            return True
        if watched is self.table and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.matches(QKeySequence.StandardKey.Copy):
                self.copy_selection()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
                self.focus_details()
                return True
        return super().eventFilter(watched, event)

    def focus_details(self) -> None:
        target = self.detail.focus_target()
        if target is not None:
            target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ================================================================== accounts

    def open_accounts(self, add: str | None = None) -> None:
        """The Accounts dialog, non-modal; Save swaps in the new configuration.

        ``add`` ("jumpseller" or "marketplacer"): start a new account of that kind (the welcome).
        """
        if self.accounts_dialog is not None and self.accounts_dialog.isVisible():
            self.accounts_dialog.raise_()
            self.accounts_dialog.activateWindow()
            if add is not None:
                self.accounts_dialog.add_account(add)
            return
        config = self.services.config
        if self.demo and config.path is None:
            # The demo's accounts belong to its throw-away folder, never to the user's config file.
            config = replace(config, path=self.services.data_dir / "config.toml")
        from invoicedesk.ui.accounts_dialog import AccountsDialog, connection_tester

        dialog = AccountsDialog(
            config,
            self.services.secrets,
            connection_tester(self.services.secrets, self.services.data_dir),
            self,
        )
        dialog.saved.connect(self._accounts_saved)
        self.accounts_dialog = dialog
        dialog.open()
        if add is not None:
            dialog.add_account(add)

    def _accounts_saved(self, config: Config) -> None:
        self.controller.spawn(self._apply_config(config))

    async def _apply_config(self, config: Config) -> None:
        services = Services(config, self.services.secrets, self.services.data_dir)
        team_changed = config.team != self.services.config.team
        await self.controller.replace_services(services)
        self.services = services
        self.filter_bar.set_accounts(config)
        self._update_accounts()
        # The team is joined at start-up only: claims must not change hands under running actions.
        restart = " Team database settings apply the next time InvoiceDesk starts." if team_changed else ""
        self.message_bar.show_message(
            "info", f"Accounts saved: {len(config.accounts)} configured. Syncing them now.{restart}"
        )
        self.controller.sync()

    # ================================================================== first start, staying current

    def _show_welcome_or_list(self) -> None:
        empty = not self.controller.services.config.accounts  # the new ones, while they are swapped in
        wanted = self._welcome_page() if empty else self.splitter
        if self.pages.currentWidget() is not wanted:
            self.pages.setCurrentWidget(wanted)
        self.filter_bar.setVisible(not empty)
        self.count_label.setVisible(not empty)
        if empty:
            self.sync_action.setEnabled(False)
            self.deep_sync_action.setEnabled(False)
        elif not self.controller.syncing:
            self.sync_action.setEnabled(True)
            self.deep_sync_action.setEnabled(True)
        self.export_action.setEnabled(not empty)
        self._update_actions()

    def _welcome_page(self) -> WelcomePage:
        if self.welcome is None:
            from invoicedesk.ui.welcome import WelcomePage

            self.welcome = WelcomePage(self.pages)
            self.welcome.addStore.connect(partial(self.open_accounts, add="jumpseller"))
            self.welcome.addSeller.connect(partial(self.open_accounts, add="marketplacer"))
            self.welcome.tryDemo.connect(self.try_demo)
            self.pages.insertWidget(0, self.welcome)
        return self.welcome

    def try_demo(self) -> None:
        from invoicedesk.ui.welcome import start_demo_process

        if start_demo_process():
            self._welcome_page().demo_starting()
            self.message_bar.show_message(
                "info", "The demo opens in a window of its own in a few seconds; this one stays as it is."
            )
        else:
            self.message_bar.show_message("error", "The demo could not be started.")

    def set_auto_sync(self, minutes: int) -> None:
        """How often the window syncs by itself (0: never), remembered with the window's layout."""
        self.controller.set_auto_sync(minutes)
        if self.settings is not None:
            self.settings.setValue(auto_sync.SETTINGS_KEY, minutes)

    # ================================================================== looks

    def _apply_tones(self) -> None:
        t = tones()
        for act in self.findChildren(QAction):
            name = act.property("iconName")
            if isinstance(name, str):
                act.setIcon(themed_icon(name, t.dark))
        self.demo_banner.setStyleSheet(
            f"QLabel#demoBanner {{ background: {t.demo_bg}; color: {t.demo_fg}; padding: 6px 8px;"
            " border-radius: 4px; font-weight: 600; }"
        )

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "online_indicator"):
            self._apply_tones()
            self._update_accounts()

    # Convenience for tests and scripts: the toolbar button of an action.
    def button_for(self, action: QAction) -> QWidget | None:
        return self.toolbar.widgetForAction(action)
