"""Jumpseller REST API v1 client: a store's orders and the documents attached to them.

Facts it is built on: Basic ``login:token`` auth, a bare JSON array per
page with no total header (``/orders/count.json`` gives the count), ``limit`` at most 100,
20 requests/s and 800/min per store, 429 then a ban for clients that ignore it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Final
from urllib.parse import quote

import httpx

from invoicedesk.domain import Document, Order, parse_documents, parse_order, parse_orders
from invoicedesk.errors import AuthError, MalformedResponseError, NotFoundError
from invoicedesk.transport import (
    RatePacer,
    RequestPolicy,
    RetryConfig,
    check_url,
    page_count,
    pages_in_order,
    pages_until_done,
)

__all__ = [
    "CREDIT_NOTE",
    "INVOICE",
    "MAX_PAGE_SIZE",
    "DateFilter",
    "JumpsellerClient",
    "StoreDocument",
]

SERVICE: Final = "Jumpseller"
MAX_PAGE_SIZE: Final = 100
INVOICE: Final = 1
"""``document_type`` of an invoice."""
CREDIT_NOTE: Final = 0
"""``document_type`` of a credit note."""
LISTING_AHEAD: Final = 4
"""Pages of the store-wide document listing asked for at once."""

DateFilter = str | tuple[date, date]
"""``"today"``, ``"last7days"``... as Jumpseller names them, or an inclusive (first, last) range."""

Params = list[tuple[str, str | int]]


class JumpsellerClient:
    """One Jumpseller store, reached through a shared ``httpx.AsyncClient``.

    Pass the same ``pacer`` to every client of one store (it is the store's rate budget);
    by default each client gets its own, configured for 20/s and 800/min.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        account: str,
        login: str,
        token: str,
        base_url: str,
        pacer: RatePacer | None = None,
        retry: RetryConfig | None = None,
        ahead: int = 16,
    ) -> None:
        self.account = account
        self.base_url = check_url(base_url).rstrip("/")
        self._auth = httpx.BasicAuth(login, token)
        self.pacer = pacer or RatePacer.jumpseller()
        self._ahead = ahead
        self.policy = RequestPolicy(
            http,
            service=SERVICE,
            account=account,
            pacer=self.pacer,
            retry=retry,
            secrets=(token,),
            auth_message="the login or API token was refused",
        )

    def __repr__(self) -> str:
        return f"JumpsellerClient(account={self.account!r}, base_url={self.base_url!r})"

    # -- plumbing ----------------------------------------------------------------------------

    async def _get(self, path: str, params: Params | None = None) -> Any:
        return await self.policy.request(
            "GET", self.base_url + path, params=httpx.QueryParams(tuple(params or ())), auth=self._auth
        )

    def _malformed(self, path: str, what: str) -> MalformedResponseError:
        return MalformedResponseError(
            what, service=SERVICE, account=self.account, endpoint=httpx.URL(self.base_url + path).path
        )

    async def _order_page(
        self, path: str, params: Params, page: int, *, size: int
    ) -> list[Order]:
        body = await self._get(path, [*params, ("page", page), ("limit", size)])
        if not isinstance(body, list):
            raise self._malformed(path, "expected a list of orders.")
        endpoint = httpx.URL(self.base_url + path).path
        return parse_orders(body, account=self.account, endpoint=endpoint)

    async def _sequential(
        self,
        path: str,
        params: Params,
        size: int,
        first: int = 1,
        seen: set[object] | None = None,
    ) -> AsyncIterator[list[Order]]:
        """Pages ``first, first+1, ...`` until an empty page, a short page, or a page that
        brings no id not ``seen`` before (there is no total header, and
        ``/orders/status/...`` and ``/orders/after/...`` declare no ``page``: a store that
        ignores it answers page 1 forever). ``seen`` holds ids from earlier pages."""
        known: set[object] = set(seen or ())
        page = first
        while True:
            orders = await self._order_page(path, params, page, size=size)
            new = {o.id for o in orders} - known
            yield orders
            if len(orders) < size or not new:
                return
            known |= new
            page += 1

    @staticmethod
    def _size(page_size: int) -> int:
        return max(1, min(page_size, MAX_PAGE_SIZE))

    # -- orders ------------------------------------------------------------------------------

    async def count_orders(self, status: str | None = None) -> int:
        """How many orders the store has (of one status, when given).

        The status goes as ``status_filters[]``, as ``/orders.json`` takes it; the public
        docs list no filters for ``count.json``, so :meth:`iter_order_pages` relies on the
        count only for the unfiltered listing.
        """
        params: Params = [("status_filters[]", status)] if status else []
        body = await self._get("/orders/count.json", params)
        count = body.get("count") if isinstance(body, Mapping) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise self._malformed("/orders/count.json", "expected {\"count\": <number>}.")
        return count

    async def iter_order_pages(
        self,
        status: str | None = None,
        date_filter: DateFilter | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[list[Order]]:
        """Every order, one page (``list[Order]``) at a time, each order exactly once.

        Without filters the count is asked first and the known pages are fetched
        concurrently within the store's rate limit; pages continue past the count (orders
        placed meanwhile) until a short page. Orders seen on an earlier page are dropped
        from later ones, since new orders shift page boundaries while we read.
        """
        size = self._size(page_size)
        params: Params = []
        if status:
            params.append(("status_filters[]", status))
        if date_filter is not None:
            params.extend(_date_params(date_filter))
        seen: set[object] = set()

        def fresh(orders: list[Order]) -> list[Order]:
            out = [o for o in orders if o.id not in seen]
            seen.update(o.id for o in out)
            return out

        pages = None
        if date_filter is None and status is None:
            # count.json documents no filters: only the full listing plans its pages from it.
            pages = page_count(await self.count_orders(), size)
        if pages is None or pages == 1:
            async for orders in self._sequential("/orders.json", params, size, seen=seen):
                yield fresh(orders)
            return

        last_full = True
        fetch = partial(self._order_page, "/orders.json", params, size=size)
        # aclosing: stopping early cancels the pages still in flight at once.
        async with aclosing(pages_in_order(fetch, 1, pages, ahead=self._ahead)) as numbered:
            async for _, orders in numbered:
                last_full = len(orders) >= size
                yield fresh(orders)
        if last_full:
            tail = self._sequential("/orders.json", params, size, first=pages + 1, seen=seen)
            async for orders in tail:
                yield fresh(orders)

    async def all_orders(
        self,
        status: str | None = None,
        date_filter: DateFilter | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[Order]:
        """Every order of the store (optionally filtered), each once."""
        out: list[Order] = []
        async for page in self.iter_order_pages(status, date_filter, page_size):
            out.extend(page)
        return out

    async def orders_after(self, order_id: int, page_size: int = MAX_PAGE_SIZE) -> list[Order]:
        """Orders with an id above ``order_id``: the new ones since the last seen.

        The spec declares no ``page`` here, so instead of paging this moves the cursor: the
        next request asks for the orders after the highest id received. That works whether
        the store honours ``page`` or not, and stops on an empty page, a short page or a page
        that brings no new id.
        """
        size = self._size(page_size)
        out: list[Order] = []
        seen: set[object] = set()
        cursor = int(order_id)
        while True:
            path = f"/orders/after/{cursor}.json"
            orders = await self._order_page(path, [], 1, size=size)
            new = [o for o in orders if o.id not in seen]
            seen.update(o.id for o in new)
            out.extend(new)
            highest = max((o.id for o in orders), default=cursor)
            if len(orders) < size or not new or highest <= cursor:
                return out
            cursor = highest

    async def orders_by_status(self, status: str, page_size: int = MAX_PAGE_SIZE) -> list[Order]:
        """Orders in one canonical status (``paid``, ``pending_payment``, ``canceled``...).

        ``/orders/status/{s}.json`` declares no ``page``. When its second page repeats a full
        first one the store ignores ``page``, and the orders come from ``/orders.json`` with
        ``status_filters[]`` instead, whose paging is documented.
        """
        size = self._size(page_size)
        path = f"/orders/status/{_path_part(status)}.json"
        out: list[Order] = []
        seen: set[object] = set()
        pages = 0
        async for orders in self._sequential(path, [], size):
            pages += 1
            new = [o for o in orders if o.id not in seen]
            if pages > 1 and orders and not new:
                return await self.all_orders(status=status, page_size=size)
            seen.update(o.id for o in new)
            out.extend(new)
        return out

    async def get_order(self, order_id: int) -> Order:
        """One order, as it is now (Jumpseller has no updated-since filter: re-read to see changes)."""
        path = f"/orders/{int(order_id)}.json"
        body = await self._get(path)
        if not isinstance(body, Mapping):
            raise self._malformed(path, "expected an order.")
        return parse_order(body, account=self.account, endpoint=httpx.URL(self.base_url + path).path)

    # -- documents ---------------------------------------------------------------------------

    async def all_store_documents(
        self, page_size: int = MAX_PAGE_SIZE, *, ahead: int = LISTING_AHEAD
    ) -> list[StoreDocument] | None:
        """Every document of the store (``GET /documents.json``), each once; ``None`` when the
        store refuses the listing (403/404), so callers fall back to one order at a time.

        About one request per 100 documents instead of one per order, but only a hint: its
        order, whether other apps' documents are in it and its ``limit`` cap are undocumented.
        So paging stops on an empty page or one that brings nothing new, never on a short page
        (a store capping ``limit`` below ``page_size`` would look finished after page 1), and a
        caller reads one order's documents again right before acting on it.

        The listing has no count: once a page comes back full, ``ahead`` pages are asked
        for before the previous ones have answered (:func:`pages_until_done`; the store's
        rate limit decides how fast they really go), so the round trips overlap instead of
        adding up.
        """
        path = "/documents.json"
        endpoint = httpx.URL(self.base_url + path).path
        size = self._size(page_size)
        seen: set[tuple[object, str, str]] = set()
        out: list[StoreDocument] = []

        async def fetch(page: int) -> Any:
            body = await self._get(path, [("page", page), ("limit", size)])
            if not isinstance(body, list):
                raise self._malformed(path, "expected a list of documents.")
            return body

        try:
            listing = pages_until_done(fetch, ahead=ahead, full=lambda body: len(body) >= size)
            async with aclosing(listing) as pages:
                async for body in pages:
                    new = 0
                    for item in body:
                        listed = _store_document(item, account=self.account, endpoint=endpoint)
                        key = (listed.order_id, listed.document.public_id, listed.app_code)
                        if key not in seen:
                            seen.add(key)
                            out.append(listed)
                            new += 1
                    if not body or not new:
                        return out
        except (AuthError, NotFoundError) as exc:
            if exc.status in (403, 404):
                return None
            raise
        return out  # pragma: no cover (the pages never end on their own)

    async def list_documents(self, order_id: int) -> list[Document]:
        """Invoices and credit notes attached to an order."""
        path = f"/orders/{int(order_id)}/documents.json"
        body = await self._get(path)
        if not isinstance(body, list):
            raise self._malformed(path, "expected a list of documents.")
        return parse_documents(body, account=self.account, endpoint=httpx.URL(self.base_url + path).path)

    async def attach_document(
        self,
        order_id: int,
        *,
        document_type: int,
        public_id: str,
        url: str,
        external_id: str,
    ) -> Document:
        """Attach an invoice (``INVOICE``) or credit note (``CREDIT_NOTE``) to an order.

        Sent once: if the answer is lost this raises ``OutcomeUnknownError`` and the caller
        should look at :meth:`list_documents` before trying again.
        """
        if document_type not in (INVOICE, CREDIT_NOTE):
            raise ValueError("document_type must be INVOICE (1) or CREDIT_NOTE (0)")
        path = f"/orders/{int(order_id)}/documents.json"
        payload = {
            "document": {
                "document_type": document_type,
                "external_id": external_id,
                "public_id": public_id,
                "url": url,
            }
        }
        body = await self.policy.request(
            "POST",
            self.base_url + path,
            content=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            auth=self._auth,
        )
        items = body if isinstance(body, list) else [body]
        documents = parse_documents(items, account=self.account)
        if not documents:
            raise self._malformed(path, "the service did not return the attached document.")
        return documents[0]


@dataclass(frozen=True, slots=True)
class StoreDocument:
    """One item of the store-wide document listing: the document, its order and its app."""

    order_id: int | None
    """``None`` when the listing did not say which order (the item is then only a hint)."""
    app_code: str
    """The app that made it (``""`` when not said); other apps' documents count too."""
    document: Document


def _store_document(item: Any, *, account: str, endpoint: str) -> StoreDocument:
    document = parse_documents([item], account=account, endpoint=endpoint)[0]
    inner = item.get("document", item) if isinstance(item, Mapping) else {}
    raw_order = inner.get("order_id") if isinstance(inner, Mapping) else None
    order_id: int | None = None
    if isinstance(raw_order, int) and not isinstance(raw_order, bool):
        order_id = raw_order
    elif isinstance(raw_order, str) and raw_order.strip().isdigit():
        order_id = int(raw_order.strip())
    app = inner.get("app_code") if isinstance(inner, Mapping) else None
    return StoreDocument(order_id, app.strip() if isinstance(app, str) else "", document)


def _date_params(date_filter: DateFilter) -> Params:
    if isinstance(date_filter, str):
        return [("dateFilter", date_filter)]
    first, last = date_filter
    return [
        ("dateFilter", "customDate"),
        ("initialDate", first.isoformat()),
        ("finalDate", last.isoformat()),
    ]


def _path_part(value: str) -> str:
    """A status name made safe for a URL path segment."""
    return quote(value, safe="")
