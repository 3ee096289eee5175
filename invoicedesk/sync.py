"""Sync: bring the cache up to date with each account, fetching only what changed.

Every page is stored in one transaction (records, and the cursor when the page completes a
phase), so a sync that is cancelled, loses the network or is killed leaves whole pages and a
cursor that never points past what was stored. Records are keyed by (source, account, id):
re-fetching is harmless and never makes a duplicate.

Marketplacer
    The first sync pulls every invoice (pages of 100, ``include=line_items,customer``). Later
    syncs ask for ``updated_since`` = the newest ``updated_at`` seen, minus a safety overlap
    (10 minutes) for clock skew and updates committed out of order. The cursor comes from the
    service's own timestamps, never from this machine's clock. Cost: 1 request per 100 changed
    invoices, and one request when nothing changed.

Jumpseller
    The API has no updated-since filter and orders have no ``updated_at``, so changes are found
    by re-reading the orders that can still change:

    1. New orders: ``/orders/after/{last id}`` (1 request when there are none).
    2. Recent changes: an order changes most (paid, canceled, shipped) in its first days. Each
       sync re-reads the orders created in the last ``window`` days (``dateFilter``,
       ``last7days`` by default): 1 request per 100 recent orders.
    3. Older orders: a pending order paid weeks later, or an invoiced order canceled a month
       later (a credit note is owed!) are outside the window. The list endpoints have no
       "changed since", so a *deep check* lists the open statuses (``pending_payment`` and
       ``paid``), compares their members with the cache, and re-reads only the orders that
       left them (one request each: only what changed). It costs 1 request per 100 open
       orders, so it runs when due (every ``deep_every``, 6 hours by default), on
       ``full=True``, or when asked (``deep=True``; the window's Sync menu and
       ``invoicedesk sync --deep``), not on every sync.
    4. Invoices: the order payload does not say whether an invoice exists; the documents
       endpoints do. The first sync reads the store-wide listing (``/documents.json``, about
       one request per 100 documents) before the orders, so each order is stored once with
       its invoice known; the deep check reads it again for the orders still unknown and for
       canceled orders still owing a credit note (one may have been issued elsewhere). Other
       syncs read one order's documents (one request each) for every paid or canceled order
       whose documents were never read. Once an order is invoiced its documents are not read
       again.
       Create Invoice reads them once more right before invoicing, whatever the cache says.

    All requests go through the client's pacer (20/s and 800/min per store), so a first sync
    of a big store is bounded by the rate limit, not by this code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from invoicedesk.cache import Cache, CacheError, SyncState, now_utc
from invoicedesk.config import Account, JumpsellerAccount, MarketplacerAccount
from invoicedesk.domain import Document, Order
from invoicedesk.errors import InvoiceDeskError
from invoicedesk.services import Services

if TYPE_CHECKING:
    from invoicedesk.clients.jumpseller import StoreDocument

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)
DATE_WINDOWS = {7: "last7days", 30: "last30days", 90: "last90days"}
DEEP_EVERY = timedelta(hours=6)
OPEN_STATUSES = ("pending_payment", "paid")


LAZY_CHECKS = 200
"""Orders whose documents one sync reads one by one (newest first), when the listing is not
read or refused: a store without the listing is never kept waiting for thousands of reads;
the rest say "not checked yet" and are read when staff act on them, or by a later sync."""

Listed = dict[str, list[Document]]
"""The store's document listing by order id (only orders that have documents)."""


class _NotRead:
    """The document listing was not read in this sync (yet)."""


NOT_READ = _NotRead()


@dataclass(frozen=True, slots=True)
class SyncProgress:
    account: str
    phase: str
    done: int
    total: int | None = None


@dataclass(slots=True)
class SyncResult:
    account: str
    source: str
    fetched: int = 0
    documents_checked: int = 0
    requests: int = 0
    error: str | None = None
    seconds: float = 0.0
    changed_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


ProgressCallback = Callable[[SyncProgress], None]


class Syncer:
    def __init__(
        self,
        services: Services,
        cache: Cache,
        *,
        window_days: int = 7,
        deep_every: timedelta = DEEP_EVERY,
        documents_concurrency: int = 8,
    ) -> None:
        if window_days not in DATE_WINDOWS:
            raise ValueError(f"window_days must be one of {sorted(DATE_WINDOWS)}")
        self.services = services
        self.cache = cache
        self.window = DATE_WINDOWS[window_days]
        self.deep_every = deep_every
        self.documents_concurrency = documents_concurrency

    async def sync_all(
        self,
        accounts: Sequence[Account] | None = None,
        *,
        progress: ProgressCallback | None = None,
        full: bool = False,
        deep: bool = False,
    ) -> list[SyncResult]:
        """Every account concurrently; one failing account does not stop the others."""
        accs = list(accounts if accounts is not None else self.services.config.accounts)
        # Every account runs to its end before a cache failure (a full disk) is raised, once:
        # none is left writing in the background.
        outcomes = await asyncio.gather(
            *(self.sync_account(a, progress=progress, full=full, deep=deep) for a in accs),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return [o for o in outcomes if isinstance(o, SyncResult)]

    async def sync_account(
        self,
        account: Account,
        *,
        progress: ProgressCallback | None = None,
        full: bool = False,
        deep: bool = False,
    ) -> SyncResult:
        result = SyncResult(account.name, account.source)
        before = self.services.request_count(account.name)
        loop = asyncio.get_running_loop()
        started = loop.time()
        report = progress or (lambda _p: None)
        try:
            if isinstance(account, JumpsellerAccount):
                await self._sync_jumpseller(account, result, report, full=full, deep=deep)
            else:
                await self._sync_marketplacer(account, result, report, full)
        except CacheError:
            raise  # a full disk or a damaged cache stops every account alike: said once, by the caller
        except InvoiceDeskError as exc:
            result.error = str(exc)
            prev = self.cache.sync_state(account.name, account.source)
            self.cache.put_sync_state(
                SyncState(
                    prev.account, prev.source, prev.cursor, prev.last_order_id, prev.last_synced_at, str(exc)
                )
            )
            log.warning("sync of %s failed: %s", account.name, exc)
        finally:
            result.requests = self.services.request_count(account.name) - before
            result.seconds = loop.time() - started
        return result

    # ------------------------------------------------------------------ Marketplacer

    async def _sync_marketplacer(
        self, acc: MarketplacerAccount, result: SyncResult, report: ProgressCallback, full: bool
    ) -> None:
        client = self.services.marketplacer(acc)
        state = self.cache.sync_state(acc.name, acc.source)
        cursor = None if full else _parse_cursor(state.cursor)
        since = cursor - OVERLAP if cursor else None
        newest = cursor
        report(SyncProgress(acc.name, "invoices", 0))
        async for page in client.iter_invoice_pages(updated_since=since):
            for inv in page:
                stamp = inv.updated_at or inv.paid_at
                if stamp and (newest is None or stamp > newest):
                    newest = stamp
            await asyncio.to_thread(self.cache.upsert, page)
            result.fetched += len(page)
            result.changed_ids += [inv.id for inv in page]
            report(SyncProgress(acc.name, "invoices", result.fetched))
        # The cursor moves only once every page up to it is stored.
        self.cache.put_sync_state(
            SyncState(
                acc.name, acc.source, newest.isoformat() if newest else state.cursor, None, now_utc(), None
            )
        )

    # ------------------------------------------------------------------ Jumpseller

    async def _sync_jumpseller(
        self, acc: JumpsellerAccount, result: SyncResult, report: ProgressCallback, *, full: bool, deep: bool
    ) -> None:
        client = self.services.jumpseller(acc)
        state = self.cache.sync_state(acc.name, acc.source)
        last_id = None if full else state.last_order_id
        highest = last_id or 0
        last_deep = _parse_cursor(state.cursor)

        async def store(page: Sequence[Order], phase: str, listed: Listed | None = None) -> None:
            nonlocal highest
            if not page:
                return
            known: list[str] = []
            if listed is not None:
                page, known = _with_listed_documents(page, listed)
            await asyncio.to_thread(partial(self.cache.upsert, page, documents_known_for=known))
            highest = max(highest, *(o.id for o in page))
            result.fetched += len(page)
            result.changed_ids += [str(o.id) for o in page]
            report(SyncProgress(acc.name, phase, result.fetched))

        def save(synced: datetime | None, deep_at: datetime | None) -> None:
            cursor = deep_at.isoformat() if deep_at else None
            self.cache.put_sync_state(SyncState(acc.name, acc.source, cursor, highest or None, synced, None))

        deep_now = False
        listed: Listed | _NotRead | None = NOT_READ
        listing_failed: InvoiceDeskError | None = None
        if last_id is None:
            # First (or full) sync: every order, so the deep check is implied. The store's
            # document listing comes first (a few pages): each order is then stored once, with
            # its invoice known, instead of being written a second time to say so.
            report(SyncProgress(acc.name, "reading the store's documents", 0))
            try:
                listed = _by_order(await client.all_store_documents())
            except CacheError:
                raise
            except InvoiceDeskError as exc:
                # The orders still come: their invoices are said "not checked yet" until the
                # error is gone; the error is the sync's result once the orders are stored.
                listing_failed = exc
            report(SyncProgress(acc.name, "orders", 0))
            async for page in client.iter_order_pages():
                await store(page, "orders", listed if isinstance(listed, dict) else None)
            # A listing that failed leaves the deep check due: the next sync reads it again.
            last_deep = now_utc() if listing_failed is None else None
        else:
            report(SyncProgress(acc.name, "new orders", 0))
            new = await client.orders_after(last_id)
            for start in range(0, len(new), 100):
                await store(new[start : start + 100], "new orders")
            save(state.last_synced_at, last_deep)  # new orders are safe before the slower phases
            async for page in client.iter_order_pages(date_filter=self.window):
                await store(page, "recent orders")
            if deep or last_deep is None or now_utc() - last_deep >= self.deep_every:
                await self._deep_check(acc, result, report, store)
                last_deep = now_utc()
                deep_now = True
        save(state.last_synced_at, last_deep)
        await self._check_documents(
            acc, result, report, recheck_credit_notes=deep_now, listing=last_id is None or deep_now,
            listed=listed, listing_failed=listing_failed,
        )
        save(now_utc(), last_deep)

    async def _deep_check(
        self,
        acc: JumpsellerAccount,
        result: SyncResult,
        report: ProgressCallback,
        store: Callable[[Sequence[Order], str], Awaitable[None]],
    ) -> None:
        """Find orders that left an open status (paid later, canceled later) at any age."""
        client = self.services.jumpseller(acc)
        for status in OPEN_STATUSES:
            report(SyncProgress(acc.name, f"checking {status.replace('_', ' ')} orders", 0))
            cached = set(self.cache.record_ids("jumpseller", acc.name, statuses=(status,)))
            current = await client.orders_by_status(status)
            current_ids = {str(o.id) for o in current}
            changed = [o for o in current if str(o.id) not in cached]
            for start in range(0, len(changed), 100):
                await store(changed[start : start + 100], "changed orders")
            for order_id in sorted(cached - current_ids):
                await store([await client.get_order(int(order_id))], "changed orders")

    async def _check_documents(
        self,
        acc: JumpsellerAccount,
        result: SyncResult,
        report: ProgressCallback,
        *,
        recheck_credit_notes: bool,
        listing: bool = False,
        listed: Listed | _NotRead | None = NOT_READ,
        listing_failed: InvoiceDeskError | None = None,
    ) -> None:
        """Which orders have an invoice: from the store-wide listing on a first sync and in the
        deep check (about one request per 100 documents), else one order at a time.

        The listing is a hint (its order and coverage are undocumented): actions still read the
        order's own documents right before acting. Where the store refuses it (an older plan, a
        token without the scope), and in syncs that do not read it, only the newest
        ``LAZY_CHECKS`` unknown orders are read one by one; older ones show "Invoice not
        checked yet" and are read when staff act on them or by a later sync.
        ``listed``: the listing already read in this sync (``None``: refused), used for the
        orders it did not cover yet (placed while the sync ran); ``listing_failed``: why it
        could not be read, raised here when some order still needs it.
        """
        client = self.services.jumpseller(acc)
        unknown = self.cache.documents_unknown(acc.name, ("paid", "canceled"))
        again: list[str] = []
        if recheck_credit_notes:
            # A credit note may have been issued elsewhere (the store's admin): look again.
            known = set(unknown)
            again = [i for i in self.cache.credit_note_candidates(acc.name) if i not in known]
        ids = unknown + again
        if not ids:
            return
        if listing:
            if listing_failed is not None:
                raise listing_failed
            if isinstance(listed, _NotRead):
                report(SyncProgress(acc.name, "reading the store's documents", 0))
                listed = _by_order(await client.all_store_documents())
            if listed is not None:
                batch = [(i, listed.get(i, [])) for i in ids]
                for start in range(0, len(batch), 500):
                    chunk = batch[start : start + 500]
                    await asyncio.to_thread(self.cache.set_documents_many, acc.name, chunk)
                    result.documents_checked += len(chunk)
                    result.changed_ids += [order_id for order_id, _docs in chunk]
                report(SyncProgress(acc.name, "invoices known", result.documents_checked, len(ids)))
                return
        ids = unknown[:LAZY_CHECKS] + again  # the newest now; credit notes owed are never put off
        sem = asyncio.Semaphore(self.documents_concurrency)
        total = len(ids)
        done: list[tuple[str, list[Document]]] = []

        async def flush() -> None:
            batch = done[:]
            del done[:]
            if batch:
                # One transaction per batch, off the event loop: the window stays responsive.
                await asyncio.to_thread(self.cache.set_documents_many, acc.name, batch)
                result.documents_checked += len(batch)
                result.changed_ids += [order_id for order_id, _docs in batch]
                report(SyncProgress(acc.name, "invoices attached", result.documents_checked, total))

        async def one(order_id: str) -> None:
            async with sem:
                docs = await client.list_documents(int(order_id))
            done.append((order_id, docs))
            if len(done) >= 25:
                await flush()

        tasks = [asyncio.ensure_future(one(i)) for i in ids]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.shield(flush())  # what was read is kept, even when cancelled


def _by_order(listed: list[StoreDocument] | None) -> Listed | None:
    """The listing's documents grouped by order id (``None``: the store refused the listing)."""
    if listed is None:
        return None
    out: Listed = {}
    for item in listed:
        if item.order_id is None:
            continue
        doc = item.document
        if item.app_code and not doc.app_code:
            doc = replace(doc, app_code=item.app_code)
        out.setdefault(str(item.order_id), []).append(doc)
    return out


def _with_listed_documents(page: Sequence[Order], listed: Listed) -> tuple[list[Order], list[str]]:
    """The page's paid and canceled orders given their documents from the listing (none when it
    lists none: then it is known they have none); the ids of those orders."""
    out: list[Order] = []
    known: list[str] = []
    for order in page:
        if order.status in ("paid", "canceled"):
            docs = listed.get(str(order.id), ())
            out.append(replace(order, documents=tuple(docs)) if docs else order)
            known.append(str(order.id))
        else:
            out.append(order)
    return out, known


def _parse_cursor(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
