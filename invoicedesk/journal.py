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
from invoicedesk.errors import InvoiceDeskError
from invoicedesk.team.db import TeamDB, TeamUnavailableError

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


class TeamJournal:
    """Several desks: claims and history in the team database, mirrored into this desk's cache."""

    def __init__(self, team: TeamDB, cache: Cache) -> None:
        self.team = team
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
        entry = await self.team.claim(source, account, record_id, action, request, documents=documents)
        self.cache.mirror_journal([entry])
        return entry.id

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
        # The local mirror first: whatever happens to the team database now, this desk keeps
        # the outcome (an invoice made is never forgotten) and ``catch_up`` tells the team.
        self.cache.journal_update(
            entry_id, state=state, step=step, result=result, message=message, records=records
        )
        try:
            await self.team.update(entry_id, state=state, step=step, result=result, message=message)
            if records:
                await self.team.push_records(self.cache.record_rows([_key(r) for r in records]))
        except TeamUnavailableError as exc:
            log.warning("team journal not told of %s (%s): kept here until it is back", entry_id, exc)
            raise

    async def entries(
        self,
        source: str | None = None,
        account: str | None = None,
        record_id: str | None = None,
        *,
        open_only: bool = False,
    ) -> list[JournalEntry]:
        return await self.team.journal(source, account, record_id, open_only=open_only)

    async def owner_alive(self, entry: JournalEntry) -> bool | None:
        desk = entry.request.get("desk")
        if not isinstance(desk, str) or desk == self.team.desk:
            return None
        return await self.team.desk_alive(desk)

    async def catch_up(self) -> int:
        """Tell the team what this desk's mirror knows and the team does not (an outcome kept
        while the team database was away). Returns how many entries were brought up to date."""
        told = 0
        for entry in await self.team.journal(open_only=True):
            local = self.cache.journal_entry(entry.id)
            if local is None or local.state == entry.state or local.state in ("pending",):
                continue
            await self.team.update(
                entry.id, state=local.state, step=local.step, result=local.result, message=local.message
            )
            told += 1
        return told


def _key(record: Order | Invoice) -> tuple[str, str, str]:
    s = record.summary()
    return s.source.value, s.account, s.id


class UnavailableJournal:
    """Team mode with the team database out of reach: every claim is refused with the reason
    (a claim made only on this desk could race another desk). Reading the history still works
    from this desk's mirror."""

    def __init__(self, error: InvoiceDeskError) -> None:
        self.error = error

    async def begin(self, *_args: Any, **_kw: Any) -> int:
        raise TeamUnavailableError(str(self.error))

    async def update(self, *_args: Any, **_kw: Any) -> None:
        raise TeamUnavailableError(str(self.error))

    async def entries(self, *_args: Any, **_kw: Any) -> list[JournalEntry]:
        return []

    async def owner_alive(self, entry: JournalEntry) -> bool | None:
        return None
