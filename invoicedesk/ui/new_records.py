""""3 new to act on" in the window title: what a sync brought that waits for staff.

After each sync, the records it fetched new or changed that now need action (an order to
invoice, an invoice to mark sent, …) and that staff have not opened yet are counted in the
window title, where the taskbar shows it even while the window is behind another. A record
leaves the count when staff select it; choosing the "Needs action" filter clears it, as then
every one of them is in view. An account's very first sync counts nothing: its whole history
is not news.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QModelIndex, QObject
from PySide6.QtWidgets import QWidget

from invoicedesk.cache import Cache
from invoicedesk.domain.records import Key, record_key
from invoicedesk.sync import SyncResult
from invoicedesk.ui.records_model import RecordsModel

MAX_LOOKUPS = 5000  # a sync that changed more than this (a full re-sync) is not "news"


def title_with_count(base: str, count: int) -> str:
    return f"{base} — {count:,} new to act on" if count else base


def needing_action(cache: Cache, results: Iterable[SyncResult], skip: set[str]) -> list[Key]:
    """Keys of the records these results changed that now need action (``skip``: accounts)."""
    keys: list[Key] = []
    looked = 0
    for r in results:
        if not r.ok or r.account in skip:
            continue
        for record_id in dict.fromkeys(r.changed_ids):
            looked += 1
            if looked > MAX_LOOKUPS:
                return keys
            rowid = cache.find_rowid(r.source, r.account, record_id)
            row = cache.row(rowid) if rowid is not None else None
            if row is not None and row.summary.needs_action:
                keys.append(record_key(row.summary))
    return keys


class NewToActOn(QObject):
    """Keeps the count and the window title; the window tells it what staff look at."""

    def __init__(
        self,
        window: QWidget,
        cache: Callable[[], Cache],
        model: RecordsModel,
        never_synced: Callable[[], set[str]],
        current: Callable[[], Key | None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self._cache = cache
        self._model = model
        self._never_synced = never_synced
        self._current = current
        self.base_title = window.windowTitle()
        self.unseen: set[Key] = set()
        self._first_syncs: set[str] = set()

    @property
    def count(self) -> int:
        return len(self.unseen)

    def sync_started(self) -> None:
        self._first_syncs = self._never_synced()

    def sync_finished(self, results: list[SyncResult]) -> None:
        fresh = needing_action(self._cache(), results, self._first_syncs)
        self._first_syncs = set()
        shown = self._current()  # already in front of staff, in the details
        fresh = [k for k in fresh if k != shown]
        if fresh:
            self.unseen.update(fresh)
            self._show()

    def current_changed(self, current: QModelIndex, _previous: QModelIndex | None = None) -> None:
        if not current.isValid():
            return
        summary = self._model.summary(current.row())
        if summary is not None:
            self.seen([record_key(summary)])

    def seen(self, keys: Iterable[Key]) -> None:
        before = len(self.unseen)
        self.unseen.difference_update(keys)
        if len(self.unseen) != before:
            self._show()

    def filter_changed(self, needs_action: bool) -> None:
        """The Needs action filter shows every one of them: all seen."""
        if needs_action and self.unseen:
            self.unseen.clear()
            self._show()

    def _show(self) -> None:
        self.window.setWindowTitle(title_with_count(self.base_title, len(self.unseen)))
