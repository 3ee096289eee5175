"""Moving records and history between this desk's cache and the team database.

- ``pull``: what other desks fetched or changed since the last change number this desk saw
  (kept in the cache's sync state), applied to the local cache: records rebuilt from their raw
  payloads, journal entries mirrored with the team's ids. Returns the keys that changed.
- ``push``: records this desk fetched or changed, for everyone.
- ``leased_sync``: sync only the accounts whose lease this desk holds; the others are being
  synced by another desk right now and arrive through ``pull``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from invoicedesk.cache import Cache, SyncState
from invoicedesk.config import Account
from invoicedesk.domain import Key
from invoicedesk.sync import SyncResult
from invoicedesk.team.db import TeamDB

log = logging.getLogger(__name__)

CURSOR_ACCOUNT = "team"  # the sync-state row that remembers the last change number pulled
RENEW_EVERY = 60.0  # seconds; the lease lasts five minutes


def _cursor(cache: Cache) -> int:
    state = cache.sync_state(CURSOR_ACCOUNT, CURSOR_ACCOUNT)
    try:
        return int(state.cursor or 0)
    except ValueError:
        return 0


async def pull(team: TeamDB, cache: Cache, *, rounds: int = 20) -> list[Key]:
    """Bring this desk's cache up to the team's latest changes."""
    changed: list[Key] = []
    last = _cursor(cache)
    for _ in range(rounds):
        batch = await team.changes_since(last)
        if batch.last == last:
            break
        if batch.records:
            cache.apply_record_rows(batch.records)
            changed += [(r.source, r.account, r.record_id) for r in batch.records]
        if batch.journal:
            cache.mirror_journal(batch.journal)
            changed += [(e.source, e.account, e.record_id) for e in batch.journal]
        last = batch.last
        cache.put_sync_state(SyncState(CURSOR_ACCOUNT, CURSOR_ACCOUNT, cursor=str(last)))
    return changed


async def push(team: TeamDB, cache: Cache, keys: Sequence[Key]) -> None:
    for start in range(0, len(keys), 500):
        await team.push_records(cache.record_rows(keys[start : start + 500]))


SyncAccounts = Callable[[list[Account]], Awaitable[list[SyncResult]]]
"""Syncs the accounts it is given into this desk's cache (in this process, or a process per
service) and returns their results."""


async def leased_sync(
    team: TeamDB,
    cache: Cache,
    accounts: Sequence[Account],
    sync: SyncAccounts,
    *,
    skipped: Callable[[str, str], None] | None = None,
) -> list[SyncResult]:
    """Sync the accounts this desk can lease; push what changed; release the leases.

    The leases are taken, renewed, pushed and released here, whoever syncs: a process per
    service writes into the same cache, and its results name what it changed."""
    mine: list[Account] = []
    for acc in accounts:
        holder = await team.take_lease(acc.name)
        if holder is None:
            mine.append(acc)
        elif skipped is not None:
            skipped(acc.name, holder)
    if not mine:
        return []

    async def renew() -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            for acc in mine:
                await team.take_lease(acc.name)

    renewing = asyncio.ensure_future(renew())
    try:
        results = await sync(mine)
        for r in results:
            keys: list[Key] = [(r.source, r.account, rid) for rid in r.changed_ids]
            await push(team, cache, keys)
        return results
    finally:
        renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)
        for acc in mine:
            try:
                await team.release_lease(acc.name)
            except Exception as exc:  # the lease expires by itself
                log.warning("could not release the sync lease of %s: %s", acc.name, exc)
