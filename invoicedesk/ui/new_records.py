""""3 new to act on" in the window title: what a sync brought that waits for staff.

After each sync, the records it fetched new or changed that now need action (an order to
invoice, an invoice to mark sent, …) and that staff have not opened yet are counted in the
window title, where the taskbar shows it even while the window is behind another. A record
leaves the count when staff select it; choosing the "Needs action" filter clears it, as then
every one of them is in view. An account's very first sync counts nothing: its whole history
is not news.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from PySide6.QtCore import QModelIndex, QObject
from PySide6.QtWidgets import QWidget

from invoicedesk.cache import Cache, Query
from invoicedesk.domain.records import Key, record_key
from invoicedesk.sync import SyncResult
from invoicedesk.ui.records_model import RecordsModel

# Up to this many changed records are looked up one by one (an index read each, about
# 0.1 ms); a bigger sync (a full re-sync) is matched in one pass over the records that need
# action instead. Either way on a thread of its own, with its own cache connection.
ONE_BY_ONE = 200


def title_with_count(base: str, count: int) -> str:
    return f"{base} — {count:,} new to act on" if count else base


def needing_action(cache: Cache, results: Iterable[SyncResult], skip: set[str]) -> list[Key]:
    """Keys of the records these results changed that now need action (``skip``: accounts)."""
    changed: list[Key] = []
    for r in results:
        if r.ok and r.account not in skip:
            changed += [(r.source, r.account, i) for i in dict.fromkeys(r.changed_ids)]
    if len(changed) > ONE_BY_ONE:
        waiting = {record_key(row.summary) for row in cache.iter_all(Query(needs_action=True))}
        return [k for k in changed if k in waiting]
    keys: list[Key] = []
    for key in changed:
        rowid = cache.find_rowid(*key)
        row = cache.row(rowid) if rowid is not None else None
        if row is not None and row.summary.needs_action:
            keys.append(key)
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
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any]],
    ) -> None:
        super().__init__(window)
        self.window = window
        self._cache = cache
        self._model = model
        self._never_synced = never_synced
        self._current = current
        self._spawn = spawn
        self._pool: ThreadPoolExecutor | None = None
        self._reader: Cache | None = None
        self._seen_meanwhile: set[Key] = set()
        self.counting: asyncio.Task[Any] | None = None
        self.base_title = window.windowTitle()
        self.unseen: set[Key] = set()
        self._first_syncs: set[str] = set()

    @property
    def count(self) -> int:
        return len(self.unseen)

    def sync_started(self) -> None:
        self._first_syncs = self._never_synced()

    def sync_finished(self, results: list[SyncResult]) -> None:
        skip, self._first_syncs = self._first_syncs, set()
        if any(r.ok and r.changed_ids and r.account not in skip for r in results):
            self._seen_meanwhile = set()
            self.counting = self._spawn(self._count(results, skip))

    async def _count(self, results: list[SyncResult], skip: set[str]) -> None:
        """Look the changed records up on a thread of our own (a big sync changes thousands)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="invoicedesk-new-records")
        loop = asyncio.get_running_loop()
        fresh = await loop.run_in_executor(self._pool, partial(self._lookup, results, skip))
        shown = self._current()  # already in front of staff, in the details
        fresh = [k for k in fresh if k != shown and k not in self._seen_meanwhile]
        if fresh:
            self.unseen.update(fresh)
            self._show()

    def _lookup(self, results: list[SyncResult], skip: set[str]) -> list[Key]:
        if self._reader is None:  # opened in the lookup thread and used only there
            self._reader = Cache(self._cache().path)
        return needing_action(self._reader, results, skip)

    def close(self) -> None:
        """Stop the lookup thread and close its cache connection (the window is shutting down)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            reader = self._reader
            if reader is not None:
                pool.submit(reader.close)
            pool.shutdown(wait=True)
            self._reader = None

    def current_changed(self, current: QModelIndex, _previous: QModelIndex | None = None) -> None:
        if not current.isValid():
            return
        summary = self._model.summary(current.row())
        if summary is not None:
            self.seen([record_key(summary)])

    def seen(self, keys: Iterable[Key]) -> None:
        keys = list(keys)
        self._seen_meanwhile.update(keys)
        before = len(self.unseen)
        self.unseen.difference_update(keys)
        if len(self.unseen) != before:
            self._show()

    def filter_changed(self, needs_action: bool) -> None:
        """The Needs action filter shows every one of them: all seen."""
        if needs_action:
            self._seen_meanwhile.update(self.unseen)
            if self.counting is not None and not self.counting.done():
                self.counting.cancel()  # every one of them is about to be in view
        if needs_action and self.unseen:
            self.unseen.clear()
            self._show()

    def _show(self) -> None:
        self.window.setWindowTitle(title_with_count(self.base_title, len(self.unseen)))
