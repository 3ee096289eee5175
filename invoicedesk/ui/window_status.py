"""The main window's status bar: sync progress, when each account was last synced, and
whether it can be reached.

A mixin of :class:`~invoicedesk.ui.main_window.MainWindow`: it builds the permanent status-bar
widgets and answers the controller's sync signals (started, progress, finished) and its
``accountsChanged``. A sync reports every request; the bar shows them a few times a second.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton

from invoicedesk.sync import SyncProgress, SyncResult
from invoicedesk.ui.controller import Controller
from invoicedesk.ui.message_bar import MessageBar
from invoicedesk.ui.palette import tones
from invoicedesk.ui.records_model import PAGE_SIZE, Key, RecordsModel

# While a sync runs, a list that is not full yet (a first sync) is re-read this often, so the
# first records appear as they arrive. A full list stays put until the sync ends: rows do not
# jump under the pointer of someone working, and the window does no extra reads meanwhile.
LIVE_REFRESH_MS = 1000
# The status bar shows sync progress at most this often.
PROGRESS_MS = 200


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

    if TYPE_CHECKING:

        def statusBar(self) -> QStatusBar: ...
        def _update_count(self) -> None: ...
        def _update_actions(self) -> None: ...
        def _load_record(self) -> None: ...

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        sb.setObjectName("statusBar")
        self.count_label = QLabel(objectName="recordCount")
        self.count_label.setAccessibleName("Number of records shown")
        self.sync_label = QLabel(objectName="syncStatus")
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
        for w in (
            self.count_label,
            self.sync_label,
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
                parts.append(f"{acc}: {prog.phase} {prog.done:,}/{prog.total:,}")
                done += prog.done
                total += prog.total
            else:
                parts.append(f"{acc}: {prog.done:,} {prog.phase}")
        self.sync_label.setText("Syncing · " + " · ".join(parts))
        if total:
            self.sync_progress.setRange(0, total)
            self.sync_progress.setValue(min(done, total))

    def _live_refresh(self) -> None:
        if self._live_dirty and self.model.loaded_count() < PAGE_SIZE and not self.model.canFetchMore():
            self._live_dirty = False
            self.model.refresh()
            self._update_count()

    def _on_sync_finished(self, results: list[SyncResult]) -> None:
        self._live.stop()
        self._progress_timer.stop()
        self._live_dirty = False
        self.sync_action.setEnabled(True)
        self.deep_sync_action.setEnabled(True)
        self.sync_progress.setVisible(False)
        self.cancel_sync_button.setVisible(False)
        self.sync_label.setText("")
        self.model.refresh()
        self._update_count()
        if self._key is not None:
            self._load_record()
        if not results:
            self.statusBar().showMessage("Sync cancelled; what was fetched is kept.", 8000)
            return
        failed = [r for r in results if not r.ok]
        changed = sum(len(set(r.changed_ids)) for r in results)
        if failed:
            names = ", ".join(r.account for r in failed)
            first = failed[0].error or "not reachable"
            self.message_bar.show_message(
                "error",
                f"Could not sync {names}: {first} The cached records are shown; actions on "
                f"{'that account' if len(failed) == 1 else 'those accounts'} are off until a sync "
                "gets through (F5 tries again).",
            )
        else:
            self.statusBar().showMessage(f"Synced: {changed:,} records new or updated.", 8000)

    def _update_accounts(self) -> None:
        states = self.controller.states()
        t = tones()
        lines = []
        for st in states:
            when = st.last_synced_at.astimezone().strftime("%Y-%m-%d %H:%M") if st.last_synced_at else "never"
            status = "checking…" if st.online is None else ("connected" if st.online else st.message)
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

