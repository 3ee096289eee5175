"""Where actions are claimed and journaled: this desk's cache, or the team database.

``Actions`` talks to one of these and never knows which. ``LocalJournal`` is the single-desk
cache (the claim is a SQLite write transaction). ``TeamJournal`` claims in PostgreSQL for the
whole team and mirrors every entry into the local cache, so the list's "needs action" and the
history work offline too; records an action changed are stored locally and shared.

If the team database goes away after a request was sent, the outcome is kept in the local
mirror (nothing is lost) and the team's entry stays open, so no other desk acts on the record;
``TeamJournal.catch_up`` tells the team once it is back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from invoicedesk.cache import Cache, JournalEntry
from invoicedesk.domain import Document, Invoice, Order

log = logging.getLogger(__name__)


class Journal(Protocol):
    async def begin(
        self,
        source: str,
        account: str,
        record_id: str,
        action: str,
        request: dict[str, Any],
        *,
        documents: Sequence[Document] | None = None,
    ) -> int: ...

    async def update(
        self,
        entry_id: int,
        *,
        state: str,
        step: str | None = None,
        result: dict[str, Any] | None = None,
        message: str | None = None,
        records: Sequence[Order | Invoice] = (),
    ) -> None: ...

    async def entries(
        self,
        source: str | None = None,
        account: str | None = None,
        record_id: str | None = None,
        *,
        open_only: bool = False,
    ) -> list[JournalEntry]: ...

    async def owner_alive(self, entry: JournalEntry) -> bool | None:
        """True/False when the journal can tell whether the entry's owner still runs; None when
        only the process table of this machine can (the caller checks pids)."""
        ...


class LocalJournal:
    """One desk: the journal in this desk's cache."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    async def begin(
        self,
        source: str,
        account: str,
        record_id: str,
        action: str,
        request: dict[str, Any],
        *,
        documents: Sequence[Document] | None = None,
    ) -> int:
        return self.cache.journal_begin(source, account, record_id, action, request, documents=documents)

    async def update(
        self,
        entry_id: int,
        *,
        state: str,
        step: str | None = None,
        result: dict[str, Any] | None = None,
        message: str | None = None,
        records: Sequence[Order | Invoice] = (),
    ) -> None:
        self.cache.journal_update(
            entry_id, state=state, step=step, result=result, message=message, records=records
        )

    async def entries(
        self,
        source: str | None = None,
        account: str | None = None,
        record_id: str | None = None,
        *,
        open_only: bool = False,
    ) -> list[JournalEntry]:
        return self.cache.journal(source, account, record_id, open_only=open_only)

    async def owner_alive(self, entry: JournalEntry) -> bool | None:
        return None
