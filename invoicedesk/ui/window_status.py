"""The main window's status bar: sync progress, when each account was last synced, and
whether it can be reached.

A mixin of :class:`~invoicedesk.ui.main_window.MainWindow`: it builds the permanent status-bar
widgets and answers the controller's sync signals (started, progress, finished) and its
``accountsChanged``. A sync reports every request; the bar shows them a few times a second.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar, QToolButton, QWidget

from invoicedesk.cache import Cache, CacheError, Row
from invoicedesk.errors import staff_words
from invoicedesk.sync import SyncProgress, SyncResult
from invoicedesk.ui.controller import AccountState, Controller
from invoicedesk.ui.filter_bar import VIEW_CODES, FilterBar
from invoicedesk.ui.message_bar import MessageBar
from invoicedesk.ui.palette import tones
from invoicedesk.ui.records_model import PAGE_SIZE, Key, RecordsModel, RefreshRead

# While a sync runs, a list that is not full yet (a first sync) is re-read this often, so the
# first records appear as they arrive. A full list stays put until the sync ends: rows do not
# jump under the pointer of someone working, and the window does no extra reads meanwhile.
LIVE_REFRESH_MS = 1000
# The status bar shows sync progress at most this often.
PROGRESS_MS = 200


# What a sync's phases are called on screen: the sync names them for its log.
PHASE_WORDS: dict[str, str] = {
    "invoices attached": "checking invoices",
    "invoices known": "invoices checked",
}


def phase_words(phase: str) -> str:
    """A phase as staff read it: what the sync is doing now, spelled the house way."""
    words = PHASE_WORDS.get(phase, phase)
    return words.replace("canceled", "cancelled")


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "…" to the room it gets, in full in its
    tooltip: neighbours in the status bar never draw over each other."""

    def __init__(self, parent: QWidget | None = None, *, objectName: str = "") -> None:
        super().__init__(parent)
        if objectName:
            self.setObjectName(objectName)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(self.text()) + 8, hint.height())

    def minimumSizeHint(self) -> QSize:
        if self.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Minimum:
            return self.sizeHint()
        return QSize(0, super().minimumSizeHint().height())

    def setText(self, text: str) -> None:
        super().setText(text)
        self.updateGeometry()
        self._tip()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._tip()

    def _tip(self) -> None:
        fits = self.fontMetrics().horizontalAdvance(self.text()) <= self.contentsRect().width()
        self.setToolTip("" if fits else self.text())

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)


class SyncStatusMixin:
    """Status-bar widgets and the sync's progress, for the main window."""

    # The window provides these.
    controller: Controller
    model: RecordsModel
    message_bar: MessageBar
    sync_action: QAction
    deep_sync_action: QAction
    online: bool
    _key: Key | None
    _progress: dict[str, SyncProgress]
    _live_dirty: bool
    _live: QTimer
    _progress_timer: QTimer
    _view_generation: int
    _sync_failed: frozenset[str] = frozenset()  # the accounts "Could not sync" is about
    _read_ahead: tuple[RefreshRead, list[Row] | None] | None = None
    cache: Cache
    filter_bar: FilterBar

    if TYPE_CHECKING:

        def statusBar(self) -> QStatusBar: ...
        def _update_count(self) -> None: ...
        def _update_actions(self) -> None: ...
        def _load_record(self) -> None: ...

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        sb.setObjectName("statusBar")
        # The bar's passing messages get a label of their own (the first permanent widget, so
        # the bar draws none itself): a long one is shortened, never drawn into the count.
        self.status_message = ElidedLabel(objectName="statusMessage")
        self.status_message.setAccessibleName("Status")
        sb.messageChanged.connect(self.status_message.setText)
        sb.addPermanentWidget(self.status_message, 3)
        self.count_label = ElidedLabel(objectName="recordCount")
        self.count_label.setAccessibleName("Number of records shown")
        # The count is short and always wanted: it keeps its full width; the others give way.
        self.count_label.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)
        self.sync_label = ElidedLabel(objectName="syncStatus")
        self.sync_label.setAccessibleName("Sync status")
        self.sync_progress = QProgressBar(objectName="syncProgress")
        self.sync_progress.setAccessibleName("Sync progress")
        self.sync_progress.setMaximumWidth(180)
        self.sync_progress.setTextVisible(False)
        self.sync_progress.setVisible(False)
        self.cancel_sync_button = QToolButton(objectName="cancelSyncButton")
        self.cancel_sync_button.setText("Cancel")
        self.cancel_sync_button.setToolTip("Stop the sync; what was fetched so far is kept")
        self.cancel_sync_button.setAccessibleName("Cancel sync")
        self.cancel_sync_button.setVisible(False)
        self.last_synced_label = QLabel(objectName="lastSynced")
        self.last_synced_label.setAccessibleName("Last synced")
        self.online_indicator = QLabel(objectName="onlineIndicator")
        self.online_indicator.setAccessibleName("Connection")
        sb.addPermanentWidget(self.count_label)
        sb.addPermanentWidget(self.sync_label, 2)
        for w in (
            self.sync_progress,
            self.cancel_sync_button,
            self.last_synced_label,
            self.online_indicator,
        ):
            sb.addPermanentWidget(w)

    # ------------------------------------------------------------------ sync

    def start_sync(self, *, deep: bool = False) -> asyncio.Task[list[SyncResult]] | None:
        return self.controller.sync(deep=deep)

    def _on_sync_started(self) -> None:
        self._progress = {}
        self.sync_action.setEnabled(False)
        self.deep_sync_action.setEnabled(False)
        self.sync_progress.setRange(0, 0)
        self.sync_progress.setVisible(True)
        self.cancel_sync_button.setVisible(True)
        self.sync_label.setText("Syncing…")

    def _on_sync_progress(self, p: SyncProgress) -> None:
        """Note the report; the status bar shows the latest ones a few times a second.

        A sync reports every request (thousands on a first sync); relaying out the status bar
        for each would keep the GUI thread busy for nothing.
        """
        self._progress[p.account] = p
        self._live_dirty = True
        if not self._progress_timer.isActive():
            self._progress_timer.start()
        if not self._live.isActive():
            self._live.start()

    def _show_progress(self) -> None:
        if not self.controller.syncing:
            return
        parts = []
        done = total = 0
        for acc, prog in self._progress.items():
            if prog.total:
                parts.append(f"{acc}: {phase_words(prog.phase)} {prog.done:,}/{prog.total:,}")
                done += prog.done
                total += prog.total
            else:
                parts.append(f"{acc}: {prog.done:,} {phase_words(prog.phase)}")
        self.sync_label.setText("Syncing · " + " · ".join(parts))
        if total:
            self.sync_progress.setRange(0, total)
            self.sync_progress.setValue(min(done, total))

    def _live_refresh(self) -> None:
        """While a sync fills a short list, re-read it once a second: on the counting thread
        (its own connection), so the GUI thread only shows the rows (reading 200 rows was
        ~8 ms of Python and SQLite; with the repaint it went past one frame)."""
        if self._live_dirty and self.model.loaded_count() < PAGE_SIZE and not self.model.canFetchMore():
            self._live_dirty = False
            read = self.model.refresh_read()

            async def refresh() -> None:
                try:
                    rows = await self.controller.read(read.run)
                except CacheError:
                    self.model.refresh()  # on the window's connection, which reports what failed
                    return
                if self.model.apply_refresh(read, rows):
                    self._update_count()

            self.controller.spawn(refresh())

    async def _read_list_ahead(self) -> None:
        """Before the sync's end is shown: the list's rows read on the counting thread, so
        the end only shows them (a list scrolled a few pages deep is thousands of rows to re-read:
        ~40 µs each of SQLite and Python, kept off the GUI thread)."""
        read = self.model.refresh_read()
        try:
            rows: list[Row] | None = await self.controller.read(read.run)
        except CacheError:
            rows = None  # the window's own read then says what failed
        self._read_ahead = (read, rows)

    def _on_sync_finished(self, results: list[SyncResult]) -> None:
        self._live.stop()
        self._progress_timer.stop()
        self._live_dirty = False
        self.sync_action.setEnabled(True)
        self.deep_sync_action.setEnabled(True)
        self.sync_progress.setVisible(False)
        self.cancel_sync_button.setVisible(False)
        self.sync_label.setText("")
        ahead, self._read_ahead = self._read_ahead, None
        if ahead is None or not self.model.apply_refresh(*ahead):
            self.model.refresh()  # nothing read ahead, or the list changed since
        self._update_count()
        self._update_view_counts()
        if self._key is not None:
            self._load_record()
        if not results:
            self.statusBar().showMessage("Sync cancelled; what was fetched is kept.", 8000)
            return
        failed = [r for r in results if not r.ok]
        changed = sum(len(set(r.changed_ids)) for r in results)
        if failed:
            self._sync_failed = frozenset(r.account for r in failed)
            names = ", ".join(r.account for r in failed)
            first = failed[0].error or "not reachable"
            self.message_bar.show_message(
                "error",
                f"Could not sync {names}: {first} The cached records are shown; actions on "
                f"{'that account' if len(failed) == 1 else 'those accounts'} are off until a sync "
                "gets through (F5 tries again).",
                condition="sync",
            )
        else:
            self.message_bar.clear_condition("sync")  # the sync got through: the error is over
            self.statusBar().showMessage(f"Synced: {changed:,} records new or updated.", 8000)

    def _sync_condition_ended(self, states: list[AccountState]) -> None:
        """"Could not sync" says actions are off until the accounts answer again: once every
        one of them does (a check, an action that got through), it is no longer true."""
        if not self.message_bar.has_condition("sync"):
            return
        if all(st.online for st in states if st.name in self._sync_failed):
            self.message_bar.clear_condition("sync")

    # ------------------------------------------------------------------ the views' counts

    def _update_view_counts(self) -> None:
        """Count the views' records off the GUI thread (one GROUP BY over their stretch of the
        needs index: 1 to 30 ms at 100,000 records), then show them; a count overtaken by a
        newer one is dropped.

        It reads on the controller's counting thread, with its own connection: a count over a
        search would otherwise hold the window's connection while the list waits to paint.
        """
        query = self.filter_bar.views_query()
        self._view_generation += 1
        generation = self._view_generation

        async def count() -> None:
            try:
                by_need = await self.controller.needs_counts(query, VIEW_CODES)
            except CacheError:
                return  # closed under it (the window is shutting down), or said elsewhere
            if generation == self._view_generation:
                self.filter_bar.set_view_counts(by_need)

        self.controller.spawn(count())

    def _update_accounts(self) -> None:
        states = self.controller.states()
        t = tones()
        lines = []
        for st in states:
            when = st.last_synced_at.astimezone().strftime("%Y-%m-%d %H:%M") if st.last_synced_at else "never"
            if st.online is None:
                status = "checking…"
            else:
                status = "connected" if st.online else staff_words(st.message)
            lines.append(f"{st.name}: {status}. Last synced: {when}.")
        checked = [s for s in states if s.online is not None]
        up = sum(1 for s in checked if s.online)
        if not states:
            text, colour = "No accounts", t.offline
        elif not checked:
            text, colour = "Checking…", t.needs_action
        elif up == len(states):
            text, colour = "Online", t.online
        elif up == 0 and len(checked) == len(states):
            text, colour = "Offline", t.offline
        else:
            text, colour = f"{up} of {len(states)} accounts online", t.needs_action
        self.online_indicator.setText(f'<span style="color:{colour}">●</span> {text}')
        self.online_indicator.setToolTip("\n".join(lines))
        self.online = text == "Online"
        self._sync_condition_ended(states)
        synced = [s.last_synced_at for s in states if s.last_synced_at is not None]
        if synced and len(synced) == len(states):
            oldest = min(synced).astimezone()
            self.last_synced_label.setText(f"Synced {oldest:%H:%M}")
        elif synced:
            self.last_synced_label.setText("Partly synced")
        else:
            self.last_synced_label.setText("Not synced yet")
        self.last_synced_label.setToolTip("\n".join(lines))
        self._update_actions()

