"""Marketplacer legacy REST Seller API v2 client: a seller's invoices and shipments.

Facts it is built on: one host per marketplace, JSON:API documents,
``Authorization: Bearer <key>`` (or Basic plus a ``MARKETPLACER-API-KEY`` header on staging
sites), ``Content-Type: application/vnd.api+json`` on writes (else 415), ``links.next`` paging,
50 requests/s, two error shapes (strings, or objects with title/detail).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Generator, Iterable, Mapping
from contextlib import aclosing
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Final
from urllib.parse import quote

import httpx

from invoicedesk.domain import (
    Invoice,
    Shipment,
    parse_invoice_document,
    parse_invoice_page,
    parse_shipments,
)
from invoicedesk.errors import MalformedResponseError
from invoicedesk.transport import (
    RatePacer,
    RequestPolicy,
    RetryConfig,
    check_url,
    pages_in_order,
)

__all__ = ["JSONAPI", "MAX_PAGE_SIZE", "MarketplacerClient"]

SERVICE: Final = "Marketplacer"
JSONAPI: Final = "application/vnd.api+json"
MAX_PAGE_SIZE: Final = 100
"""Doc versions disagree on the largest page (100, 500, 1100): 100 works everywhere."""

Params = list[tuple[str, str | int]]
When = datetime | date | str


class _KeyAuth(httpx.Auth):
    """Bearer key, or Basic credentials plus the key header (sites behind HTTP Basic).

    An ``httpx.Auth`` rather than default headers so the key never sits on a shared client
    and never shows up in a repr.
    """

    def __init__(self, api_key: str, basic: tuple[str, str] | None) -> None:
        self._key = api_key
        self._basic = httpx.BasicAuth(*basic) if basic else None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._basic is None:
            request.headers["Authorization"] = f"Bearer {self._key}"
            yield request
            return
        request.headers["MARKETPLACER-API-KEY"] = self._key
        yield from self._basic.auth_flow(request)

    def __repr__(self) -> str:
        return "_KeyAuth(***)"


class MarketplacerClient:
    """One Marketplacer seller on one marketplace host."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        account: str,
        api_key: str,
        base_url: str,
        currency: str = "AUD",
        basic_auth: tuple[str, str] | None = None,
        pacer: RatePacer | None = None,
        retry: RetryConfig | None = None,
        ahead: int = 16,
    ) -> None:
        self.account = account
        self.currency = currency
        self.base_url = check_url(base_url).rstrip("/")
        self._api = self.base_url + "/api/v2/client"
        self._origin = httpx.URL(self.base_url)
        self._auth = _KeyAuth(api_key, basic_auth)
        self.pacer = pacer or RatePacer.marketplacer()
        self._ahead = ahead
        secrets = [api_key, *(basic_auth[1:] if basic_auth else ())]
        self.policy = RequestPolicy(
            http,
            service=SERVICE,
            account=account,
            pacer=self.pacer,
            retry=retry,
            secrets=secrets,
            auth_message="the API key (or the site password) was refused",
        )

    def __repr__(self) -> str:
        return f"MarketplacerClient(account={self.account!r}, base_url={self.base_url!r})"

    # -- plumbing ----------------------------------------------------------------------------

    async def _get(self, url: str, params: Params | None = None) -> Any:
        return await self.policy.request(
            "GET",
            url,
            params=httpx.QueryParams(tuple(params)) if params is not None else None,
            headers={"Accept": f"{JSONAPI}, application/json"},
            auth=self._auth,
        )

    async def _write(self, method: str, url: str, payload: Mapping[str, Any] | None) -> Any:
        return await self.policy.request(
            method,
            url,
            content=json.dumps(payload).encode() if payload is not None else b"",
            headers={"Content-Type": JSONAPI, "Accept": f"{JSONAPI}, application/json"},
            auth=self._auth,
        )

    def _malformed(self, url: str, what: str) -> MalformedResponseError:
        return MalformedResponseError(
            what, service=SERVICE, account=self.account, endpoint=httpx.URL(url).path
        )

    def _document(self, url: str, body: Any) -> Invoice:
        if not isinstance(body, Mapping):
            raise self._malformed(url, "expected a JSON:API document.")
        return parse_invoice_document(
            body, account=self.account, currency=self.currency, endpoint=httpx.URL(url).path
        )

    def _invoice_url(self, invoice_id: str | int, tail: str = "") -> str:
        return f"{self._api}/invoices/{quote(str(invoice_id), safe='')}{tail}"

    def _same_origin(self, link: str) -> str:
        """Resolve a ``links.next`` URL; refuse one pointing at another host (the key would go)."""
        target = self._origin.join(link)
        if (target.scheme, target.host, target.port) != (
            self._origin.scheme,
            self._origin.host,
            self._origin.port,
        ):
            raise self._malformed(
                self._api + "/invoices",
                "the next page is on another web address; not following it with this key.",
            )
        return str(target)

    # -- invoices ----------------------------------------------------------------------------

    async def iter_invoice_pages(
        self,
        since: When | None = None,
        until: When | None = None,
        updated_since: When | None = None,
        updated_before: When | None = None,
        status: str | None = None,
        include: Iterable[str] = ("line_items", "customer"),
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[list[Invoice]]:
        """Every (paid) invoice matching the filters, one page at a time, each once.

        When the first page's ``links.last`` (or ``meta``) says how many pages there are, the
        rest are fetched concurrently within 50 requests/s; otherwise ``links.next`` is
        followed. The listing ends without ``links.next``, on an empty page or on a page that
        brings no new id (some services send ``next`` on the last page too). ``since``/``until``
        filter on ``paid_at``, the canonical timestamp.
        """
        size = max(1, min(page_size, MAX_PAGE_SIZE))
        params: Params = []
        for name, value in (
            ("since", since),
            ("until", until),
            ("updated_since", updated_since),
            ("updated_before", updated_before),
        ):
            if value is not None:
                params.append((name, _timestamp(value)))
        if status:
            params.append(("status", status))
        included = ",".join(include)
        if included:
            params.append(("include", included))
        url = self._api + "/invoices"
        endpoint = httpx.URL(url).path
        seen: set[object] = set()

        def fresh(invoices: list[Invoice]) -> list[Invoice]:
            out = [i for i in invoices if i.id not in seen]
            seen.update(i.id for i in out)
            return out

        def finished(invoices: list[Invoice], new: list[Invoice]) -> bool:
            # Some services send links.next on the last page too, pointing at an empty one:
            # an empty page, or one of only known ids, ends the listing.
            return not invoices or not new

        async def page(number: int) -> tuple[list[Invoice], str | None, Any]:
            doc = await self._get(url, [*params, ("page[number]", number), ("page[size]", size)])
            if not isinstance(doc, Mapping):
                raise self._malformed(url, "expected a JSON:API document.")
            invoices, next_link = parse_invoice_page(
                doc, account=self.account, currency=self.currency, endpoint=endpoint
            )
            return invoices, next_link, doc

        invoices, next_link, doc = await page(1)
        new = fresh(invoices)
        yield new
        if finished(invoices, new):
            return
        pages = _known_pages(doc, size)
        if pages is not None and pages > 1 and next_link:
            # aclosing: stopping early cancels the pages still in flight at once.
            async with aclosing(pages_in_order(page, 2, pages, ahead=self._ahead)) as numbered:
                async for _, result in numbered:
                    new = fresh(result[0])
                    yield new
                    next_link = result[1]  # after the last page: records added meanwhile
            if finished(result[0], new):
                return
        while next_link:
            body = await self._get(self._same_origin(next_link))
            if not isinstance(body, Mapping):
                raise self._malformed(url, "expected a JSON:API document.")
            invoices, following = parse_invoice_page(
                body, account=self.account, currency=self.currency, endpoint=endpoint
            )
            new = fresh(invoices)
            yield new
            if finished(invoices, new) or following == next_link:
                break  # a service pointing at the same page again would loop forever
            next_link = following

    async def all_invoices(self, **filters: Any) -> list[Invoice]:
        """Every invoice matching ``filters`` (see :meth:`iter_invoice_pages`)."""
        out: list[Invoice] = []
        async for page in self.iter_invoice_pages(**filters):
            out.extend(page)
        return out

    async def get_invoice(self, invoice_id: str | int) -> Invoice:
        """One invoice with its line items, shipments and customers."""
        url = self._invoice_url(invoice_id)
        return self._document(url, await self._get(url))

    async def mark_sent(
        self, invoice_id: str | int, *, tracking: str, carrier: str, note: str = ""
    ) -> Invoice:
        """Mark a Buy Online invoice as sent, with its tracking; returns the updated invoice."""
        attributes = {"postage_tracking": tracking, "postage_carrier": carrier}
        if note:
            attributes["note"] = note
        url = self._invoice_url(invoice_id, "/sent")
        body = await self._write(
            "PUT", url, {"data": {"type": "invoices", "attributes": attributes}}
        )
        return self._document(url, body)

    async def mark_ready(self, invoice_id: str | int) -> Invoice:
        """Mark a Click and Collect invoice ready for collection."""
        url = self._invoice_url(invoice_id, "/ready")
        return self._document(url, await self._write("PUT", url, _bare(invoice_id)))

    async def mark_collected(self, invoice_id: str | int) -> Invoice:
        """Mark a Click and Collect invoice as collected by the customer."""
        url = self._invoice_url(invoice_id, "/collected")
        return self._document(url, await self._write("PUT", url, _bare(invoice_id)))

    # -- shipments ---------------------------------------------------------------------------

    async def list_shipments(self, invoice_id: str | int) -> list[Shipment]:
        """The dispatches recorded for an invoice (partial dispatch)."""
        url = self._invoice_url(invoice_id, "/shipments")
        body = await self._get(url)
        return parse_shipments(body, account=self.account, endpoint=httpx.URL(url).path)

    async def create_shipment(
        self,
        invoice_id: str | int,
        *,
        tracking: str,
        carrier: str,
        items: list[tuple[str, int]],
    ) -> Shipment:
        """Record a dispatch of ``items`` ((line_item_id, quantity) pairs). Sent once."""
        url = self._invoice_url(invoice_id, "/shipments")
        payload = {
            "data": {
                "type": "shipments",
                "attributes": {
                    "shipment_tracking_number": tracking,
                    "shipment_carrier": carrier,
                    "shipped_items": [
                        {"line_item_id": _id_value(line), "quantity": int(qty)}
                        for line, qty in items
                    ],
                },
            }
        }
        body = await self._write("POST", url, payload)
        shipments = parse_shipments(body, account=self.account, endpoint=httpx.URL(url).path)
        if len(shipments) != 1:
            raise self._malformed(url, "the service did not return the shipment it made.")
        shipment = shipments[0]
        if not shipment.items:
            # Some versions do not echo the items: what we sent is what was recorded.
            shipment = replace(shipment, items=tuple((str(li), int(q)) for li, q in items))
        return shipment


def _bare(invoice_id: str | int) -> dict[str, Any]:
    """The smallest valid JSON:API body for a state change that takes no attributes."""
    return {"data": {"type": "invoices", "id": str(invoice_id)}}


def _id_value(value: str) -> int | str:
    """Line item ids go back as the service sent them: numbers stay numbers."""
    text = str(value)
    return int(text) if text.isdigit() else text


def _timestamp(value: When) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("filter timestamps must be timezone-aware")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _page_number(link: object) -> int | None:
    if not isinstance(link, str) or not link:
        return None
    try:
        value = httpx.URL(link).params.get("page[number]")
    except (httpx.InvalidURL, TypeError):
        return None
    return int(value) if value and value.isdigit() else None


def _known_pages(doc: Mapping[str, Any], size: int) -> int | None:
    """How many pages the listing has, if the first page says so (links.last or meta)."""
    links = doc.get("links")
    if isinstance(links, Mapping):
        last = _page_number(links.get("last"))
        if last is not None:
            return last
    meta = doc.get("meta")
    if isinstance(meta, Mapping):
        for key in ("total_pages", "page_count", "last_page"):
            value = meta.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        for key in ("total_count", "total", "record_count"):
            value = meta.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return max(1, -(-value // size))
    return None
