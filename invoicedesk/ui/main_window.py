"""The main window: what staff see all day.

Toolbar (sync and the one-click actions), the filter bar, the combined list beside the
detail pane, and a status bar with the sync's progress, when each account was last synced
and whether it can be reached. Work that talks to the network runs in the
:class:`~invoicedesk.ui.controller.Controller`; the window only starts it and shows what
came back, in the inline message bar.

This module builds the window and keeps the list and the selection. Three rooms live beside
it as mixins: :mod:`~invoicedesk.ui.window_status` (status bar, sync progress, account
states), :mod:`~invoicedesk.ui.window_actions` (run, confirm, retry, Mark Sent) and
:mod:`~invoicedesk.ui.window_export` (copy and CSV export).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from functools import partial

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QFontMetrics, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
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
from invoicedesk.ui.accounts_dialog import AccountsDialog, connection_tester
from invoicedesk.ui.controller import Controller
from invoicedesk.ui.detail_pane import DetailPane
from invoicedesk.ui.filter_bar import FilterBar
from invoicedesk.ui.icons import icon
from invoicedesk.ui.mark_sent_dialog import MarkSentDialog
from invoicedesk.ui.message_bar import MessageBar
from invoicedesk.ui.palette import is_dark, themed_icon, tones
from invoicedesk.ui.records_model import (
    PAGE_SIZE,
    Column,
    Key,
    ListHeader,
    RecordsModel,
    money_locale,
    record_key,
    warm_up,
)
from invoicedesk.ui.window_actions import RETRY_TIP, RecordActionsMixin
from invoicedesk.ui.window_export import CopyExportMixin
from invoicedesk.ui.window_status import LIVE_REFRESH_MS, PROGRESS_MS, SyncStatusMixin

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


def _source_icon(source: Source) -> object:
    return icon(source.value)


class MainWindow(SyncStatusMixin, RecordActionsMixin, CopyExportMixin, QMainWindow):
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
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"{APP_NAME} — Demo data" if demo else APP_NAME)
        self.resize(1440, 820)

        self._record: Order | Invoice | None = None
        self._key: Key | None = None
        self._restoring = False
        self._scroll_before_reset = 0
        self._progress: dict[str, SyncProgress] = {}
        self._live_dirty = False
        self._count_generation = 0
        self._counting: Query | None = None
        self._exports: list[asyncio.Task[int]] = []
        self.export_dialog: QFileDialog | None = None
        self.mark_sent_dialog: MarkSentDialog | None = None
        self.accounts_dialog: AccountsDialog | None = None

        self._build_actions()
        self._build_toolbar()
        self._build_central()
        self._build_status_bar()
        self._build_shortcuts()
        self._connect()
        self._restore_settings()

        self.model.set_query(self.filter_bar.query())
        self._update_count()
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
            "Also look for older orders that were paid or canceled since (a few more requests)"
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
        for act in (
            self.sync_action,
            *self.action_buttons.values(),
            self.check_action,
            self.retry_action,
            self.export_action,
            self.accounts_action,
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

        self.message_bar = MessageBar(central)
        layout.addWidget(self.message_bar)

        self.model = RecordsModel(self.cache, icons=_source_icon, parent=self)  # type: ignore[arg-type]
        self.table = QTableView(objectName="recordsTable")
        self.table.setHorizontalHeader(ListHeader(self.table))  # sort arrows as staff read them
        self.table.setAccessibleName("Orders and invoices")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
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
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self._apply_tones()

    def _make_detail_pane(self) -> DetailPane:
        pane = DetailPane(self, locale=money_locale())
        pane.setMinimumWidth(320)
        return pane

    def _build_shortcuts(self) -> None:
        self.find_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        self.find_shortcut.activated.connect(self.filter_bar.focus_search)
        # Ctrl+Q quits everywhere (Qt's Quit key is empty on some desktops); closing goes
        # through closeEvent, so settings are saved and running work is shut down as usual.
        self.quit_shortcut = QShortcut(QKeySequence("Ctrl+Q"), self)
        self.quit_shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_shortcut.activated.connect(self.close)
        # Esc: in the search box it clears the search; anywhere else it returns to the list.
        self.escape_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.escape_shortcut.activated.connect(self.back_to_list)
        # Enter and Ctrl+C on the list: an event filter, because the view handles both keys
        # itself (Enter starts editing, Ctrl+C copies one cell) before a widget shortcut fires.
        self.table.installEventFilter(self)

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
        self.accounts_action.triggered.connect(self.open_accounts)
        self.message_bar.linkActivated.connect(self._open_link)

        self.filter_bar.queryChanged.connect(self._on_query_changed)
        self.model.modelAboutToBeReset.connect(self._before_reset)
        self.model.modelReset.connect(self._after_reset)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.model.rowsInserted.connect(lambda *_: self._update_count())

        c.syncStarted.connect(self._on_sync_started)
        c.syncProgress.connect(self._on_sync_progress)
        c.syncFinished.connect(self._on_sync_finished)
        c.accountsChanged.connect(self._update_accounts)
        c.actionStarted.connect(lambda _a, _k: self._update_actions())
        c.actionFinished.connect(self._on_action_finished)
        c.recordsChanged.connect(self._on_records_changed)
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

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_settings()
        super().closeEvent(event)
        self.closed.emit()

    def _restore_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray | bytes):
            self.restoreGeometry(geometry)
        splitter = s.value("window/splitter")
        if isinstance(splitter, QByteArray | bytes):
            self.splitter.restoreState(splitter)
        header = s.value("table/header")
        hh = self.table.horizontalHeader()
        if isinstance(header, QByteArray | bytes) and hh.restoreState(header):
            self.model.sort(hh.sortIndicatorSection(), hh.sortIndicatorOrder())

    def _save_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("table/header", self.table.horizontalHeader().saveState())
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
                    self.model.index(row, 0),
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

    def _on_current_changed(self, current: object, _previous: object) -> None:
        if self._restoring:
            return
        row = current.row() if current.isValid() else -1  # type: ignore[attr-defined]
        summary = self.model.summary(row)
        self._select_key(record_key(summary) if summary is not None else None)

    def _select_key(self, key: Key | None) -> None:
        self._key = key
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
        index = self.model.index(row, 0)
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

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
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
        self.detail.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ================================================================== accounts

    def open_accounts(self) -> None:
        """The Accounts dialog, non-modal; Save swaps in the new configuration."""
        if self.accounts_dialog is not None and self.accounts_dialog.isVisible():
            self.accounts_dialog.raise_()
            self.accounts_dialog.activateWindow()
            return
        config = self.services.config
        if self.demo and config.path is None:
            # The demo's accounts belong to its throw-away folder, never to the user's config file.
            config = replace(config, path=self.services.data_dir / "config.toml")
        dialog = AccountsDialog(
            config,
            self.services.secrets,
            connection_tester(self.services.secrets, self.services.data_dir),
            self,
        )
        dialog.saved.connect(self._accounts_saved)
        self.accounts_dialog = dialog
        dialog.open()

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
