"""A Marketplacer seller's invoices and shipments, over real HTTP against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest

from invoicedesk.clients.marketplacer import MarketplacerClient
from invoicedesk.domain import Invoice, parse_datetime
from invoicedesk.errors import (
    AuthError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RejectedError,
)
from invoicedesk.transport import RetryConfig, make_http_client

T = TypeVar("T")
FAST = RetryConfig(base_delay=0.01, max_delay=0.05, total_time=20.0)


def with_client(
    sb: Any,
    use: Callable[[MarketplacerClient], Awaitable[T]],
    *,
    api_key: str | None = None,
    basic: tuple[str, str] | None = None,
    read_timeout: float = 10.0,
) -> Callable[[], Awaitable[T]]:
    seller = sb.sellers[0]

    async def run() -> T:
        timeout = httpx.Timeout(read_timeout, connect=2.0)
        async with make_http_client(base_url=sb.base_url, timeout=timeout) as http:
            client = MarketplacerClient(
                http,
                account=seller.name,
                api_key=api_key if api_key is not None else seller.api_key,
                base_url=sb.marketplacer_url,
                currency=seller.currency,
                basic_auth=basic,
                retry=FAST,
                ahead=8,
            )
            return await use(client)

    return run


def truth(sb: Any, **where: str) -> list[dict[str, Any]]:
    return [
        r
        for r in sb.truth_invoices(sb.sellers[0].name)
        if all(r["attributes"].get(k) == v for k, v in where.items())
    ]


def ids(invoices: list[Invoice]) -> list[str]:
    return [i.id for i in invoices]


# -- reading -----------------------------------------------------------------------------------


def test_every_invoice_exactly_once_with_concurrent_pages(sandbox_session, arun) -> None:
    sb = sandbox_session

    async def use(c: MarketplacerClient) -> tuple[list[list[Invoice]], int, int]:
        pages = [p async for p in c.iter_invoice_pages(page_size=25)]
        return pages, c.policy.stats.requests, c.policy.stats.rate_limited

    pages, requests, limited = arun(with_client(sb, use)())
    got = [i.id for p in pages for i in p]
    expected = [r["id"] for r in truth(sb)]
    assert sorted(got) == sorted(expected) and len(got) == len(set(got))
    assert requests == -(-len(expected) // 25)  # one request per page, no more
    assert limited == 0
    first = pages[0][0]
    assert first.lines and first.customer.email and first.currency == "AUD"


def test_filters_reach_the_service(sandbox_session, arun) -> None:
    sb = sandbox_session
    paid_at = sorted(parse_datetime(r["attributes"]["paid_at"]) for r in truth(sb))
    middle = paid_at[len(paid_at) // 2]
    assert isinstance(middle, datetime)

    async def use(c: MarketplacerClient) -> tuple[list[Invoice], list[Invoice]]:
        return (
            await c.all_invoices(status="sent", include=()),
            await c.all_invoices(since=middle, until=middle + timedelta(days=3650)),
        )

    sent, recent = arun(with_client(sb, use)())
    assert sorted(ids(sent)) == sorted(r["id"] for r in truth(sb, status="sent"))
    assert {i.status for i in sent} == {"sent"}
    assert not sent[0].lines  # include=() asks for no line items
    expected = [
        r["id"] for r in truth(sb) if (parse_datetime(r["attributes"]["paid_at"]) or middle) >= middle
    ]
    assert sorted(ids(recent)) == sorted(expected)


def test_get_invoice_and_a_missing_one(sandbox_session, arun) -> None:
    sb = sandbox_session
    wanted = truth(sb, status="sent")[0]

    async def use(c: MarketplacerClient) -> Invoice:
        with pytest.raises(NotFoundError, match="Couldn't find Invoice"):
            await c.get_invoice(1)
        return await c.get_invoice(wanted["id"])

    invoice = arun(with_client(sb, use)())
    assert invoice.id == wanted["id"] and invoice.status == "sent"
    assert str(invoice.total) == str(invoice.raw["data"]["attributes"]["total"]).rstrip(".")
    assert invoice.shipments


# -- credentials ------------------------------------------------------------------------------


def test_basic_auth_plus_key_header_works(sandbox_session, arun) -> None:
    sb = sandbox_session
    seller = sb.sellers[0]
    wanted = truth(sb)[0]["id"]
    invoice = arun(
        with_client(sb, lambda c: c.get_invoice(wanted),
                    basic=(seller.basic_user, seller.basic_password))()
    )
    assert invoice.id == wanted


@pytest.mark.parametrize("how", ["bearer", "basic-wrong-key", "basic-wrong-password"])
def test_wrong_credentials_are_an_auth_error_naming_the_account(sandbox_session, arun,
                                                                how: str) -> None:
    sb = sandbox_session
    seller = sb.sellers[0]
    bad = "wrong-key-0123456789abcdef"
    key = seller.api_key if how == "basic-wrong-password" else bad
    basic = None
    if how == "basic-wrong-key":
        basic = (seller.basic_user, seller.basic_password)
    elif how == "basic-wrong-password":
        basic = (seller.basic_user, "wrong-password-123")

    async def use(c: MarketplacerClient) -> None:
        assert seller.api_key not in repr(c) and bad not in repr(c)
        await c.get_invoice(truth(sb)[0]["id"])

    with pytest.raises(AuthError) as info:
        arun(with_client(sb, use, api_key=key, basic=basic)())
    text = str(info.value)
    assert f"account '{seller.name}'" in text
    for secret in (bad, seller.api_key, seller.basic_password, "wrong-password-123"):
        assert secret not in text


# -- actions -----------------------------------------------------------------------------------


def test_staff_marks_a_buy_online_invoice_sent(sandbox, arun) -> None:
    sb = sandbox
    wanted = truth(sb, status="paid", delivery_type="buy_online")[0]["id"]

    async def use(c: MarketplacerClient) -> Invoice:
        invoice = await c.mark_sent(wanted, tracking="33PKP0004327", carrier="Australia Post",
                                    note="Please handle with care")
        with pytest.raises(RejectedError) as info:
            await c.mark_sent(wanted, tracking="X", carrier="Y")
        assert info.value.messages == [
            "Invoice must be paid or partially sent before we can mark it as sent."
        ]
        return invoice

    invoice = arun(with_client(sb, use)())
    assert invoice.status == "sent"
    assert invoice.postage_tracking == ("33PKP0004327",)
    assert truth(sb, status="sent") and any(r["id"] == wanted for r in truth(sb, status="sent"))


def test_click_and_collect_goes_ready_then_collected(sandbox, arun) -> None:
    sb = sandbox
    wanted = truth(sb, status="paid", delivery_type="click_and_collect")[0]["id"]

    async def use(c: MarketplacerClient) -> tuple[Invoice, Invoice]:
        with pytest.raises(RejectedError) as info:
            await c.mark_sent(wanted, tracking="T", carrier="C")
        assert info.value.messages == ["Only Buy Online invoices can be marked as sent."]
        with pytest.raises(RejectedError) as state:
            await c.mark_collected(wanted)
        assert state.value.status == 422 and len(state.value.messages) == 1
        return await c.mark_ready(wanted), await c.mark_collected(wanted)

    ready, collected = arun(with_client(sb, use)())
    assert ready.status == "ready" and ready.ready_at is not None
    assert collected.status == "collected" and collected.collected_at is not None


def test_partial_dispatch_with_shipments(sandbox, arun) -> None:
    sb = sandbox
    seller = sb.sellers[0].name
    candidates = truth(sb, status="paid", delivery_type="buy_online")
    wanted = next(
        r["id"]
        for r in candidates
        if sum(x["attributes"]["quantity"]
               for x in sb.truth_invoice_document(seller, int(r["id"]))["included"]
               if x["type"] == "line_items") >= 2  # something is left after shipping one unit
    )

    async def use(c: MarketplacerClient) -> tuple[Any, Any, Invoice]:
        invoice = await c.get_invoice(wanted)
        line = invoice.lines[0]
        shipment = await c.create_shipment(wanted, tracking="TRACK007", carrier="AusPost",
                                           items=[(line.id, 1)])
        with pytest.raises(RejectedError) as info:
            await c.create_shipment(wanted, tracking="T", carrier="C", items=[("999999", 1)])
        assert info.value.messages == ["Line item 999999 is not on this invoice"]
        return shipment, await c.list_shipments(wanted), await c.get_invoice(wanted)

    shipment, listed, after = arun(with_client(sb, use)())
    assert shipment.tracking_number == "TRACK007" and shipment.carrier == "AusPost"
    assert shipment.items and shipment.items[0][1] == 1
    assert shipment.id in [s.id for s in listed]
    assert after.status in ("partially_sent", "sent")


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "count"),
    [("500", 2), ("503", 1), ("html", 2), ("truncate", 2), ("drop", 2), ("slow", 1), ("429", 1)],
)
def test_reads_recover_from_every_fault(sandbox, arun, kind: str, count: int) -> None:
    sb = sandbox
    sb.inject("marketplacer", kind, count=count, delay=1.0)
    invoices = arun(with_client(sb, lambda c: c.all_invoices(page_size=40), read_timeout=0.4)())
    assert sorted(ids(invoices)) == sorted(r["id"] for r in truth(sb))


@pytest.mark.parametrize(("kind", "performed"), [("slow", True), ("drop", True), ("500", False)])
def test_a_lost_answer_to_mark_sent_is_not_sent_again(sandbox, arun, kind: str,
                                                      performed: bool) -> None:
    sb = sandbox
    wanted = truth(sb, status="paid", delivery_type="buy_online")[0]["id"]
    before = sb.requests("marketplacer")

    async def use(c: MarketplacerClient) -> None:
        sb.inject("marketplacer", kind, count=1, delay=1.0)
        await c.mark_sent(wanted, tracking="T1", carrier="AusPost")

    with pytest.raises(OutcomeUnknownError):
        arun(with_client(sb, use, read_timeout=0.4)())
    assert sb.requests("marketplacer") - before == 1
    status = next(r for r in truth(sb) if r["id"] == wanted)["attributes"]["status"]
    assert status == ("sent" if performed else "paid")


def test_a_next_link_to_another_host_is_not_followed(sandbox_session, arun) -> None:
    sb = sandbox_session

    async def use(c: MarketplacerClient) -> str:
        return c._same_origin("https://evil.example.com/api/v2/client/invoices?page[number]=2")

    with pytest.raises(MalformedResponseError, match="another web address"):
        arun(with_client(sb, use)())


# -- the other documented answer shapes (sandbox shapes) --------------------------------------


@pytest.mark.parametrize("page_size", [25, 100])
def test_links_next_on_the_last_page_too_ends_on_the_empty_page(sandbox, arun, page_size) -> None:
    """A marketplace that always sends links.next: every invoice once, one extra request."""
    sb = sandbox
    sb.set_shapes({"next_always"})

    async def use(c: MarketplacerClient) -> tuple[list[Invoice], int]:
        return await c.all_invoices(page_size=page_size), c.policy.stats.requests

    invoices, requests = arun(with_client(sb, use)())
    expected = [r["id"] for r in truth(sb)]
    assert sorted(ids(invoices)) == sorted(expected) and len(invoices) == len(set(ids(invoices)))
    assert requests == -(-len(expected) // page_size) + 1  # the empty page past the last


def test_a_next_link_that_brings_nothing_new_ends_the_listing(sandbox, arun) -> None:
    """A service whose next pages repeat earlier ones (page ignored) does not loop."""
    sb = sandbox
    sb.set_shapes({"next_always"})
    seller = sb.sellers[0]
    first_page = f"{sb.marketplacer_url}/api/v2/client/invoices?page%5Bnumber%5D=1"

    class Repeat(httpx.AsyncBaseTransport):
        """Every page answers page 1, with a new next link each time and no links.last."""

        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()
            self.served = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            fixed = httpx.Request("GET", first_page + "&page%5Bsize%5D=10",
                                  headers=request.headers)
            response = await self.inner.handle_async_request(fixed)
            await response.aread()
            body = response.json()
            self.served += 1
            body["links"] = {"next": f"{first_page}&page%5Bsize%5D=10&again={self.served}"}
            body.pop("meta", None)
            return httpx.Response(200, json=body)

    async def run() -> tuple[list[Invoice], int]:
        async with httpx.AsyncClient(transport=Repeat(), timeout=10) as http:
            c = MarketplacerClient(http, account=seller.name, api_key=seller.api_key,
                                   base_url=sb.marketplacer_url, currency=seller.currency,
                                   retry=FAST)
            return await c.all_invoices(page_size=10), c.policy.stats.requests

    invoices, requests = arun(run())
    assert len(invoices) == 10 and requests == 2


def test_marking_sent_with_a_thin_answer(sandbox, arun) -> None:
    sb = sandbox
    sb.set_shapes({"thin_transitions"})
    online = truth(sb, status="paid", delivery_type="buy_online")[0]["id"]
    collect = truth(sb, status="paid", delivery_type="click_and_collect")[0]["id"]

    async def use(c: MarketplacerClient) -> list[Invoice]:
        return [
            await c.mark_sent(online, tracking="T-1", carrier="AusPost"),
            await c.mark_ready(collect),
            await c.mark_collected(collect),
        ]

    sent, ready, collected = arun(with_client(sb, use)())
    assert (sent.id, sent.status) == (online, "sent")
    assert (ready.status, collected.status) == ("ready", "collected")
    assert sent.updated_at is not None
    # Thin: nothing else is known, and nothing is made up.
    assert not sent.lines and not sent.customer.email and not sent.total_known
    assert sent.raw["data"]["attributes"] == {"status": "sent", "updated_at": sent.raw["data"][
        "attributes"]["updated_at"]}


def test_invoices_without_updated_at_are_read(sandbox, arun) -> None:
    sb = sandbox
    sb.set_shapes({"no_updated_at"})
    invoices = arun(with_client(sb, lambda c: c.all_invoices())())
    assert sorted(ids(invoices)) == sorted(r["id"] for r in truth(sb))
    assert all(i.updated_at is None and i.paid_at is not None for i in invoices)


def test_reused_customer_ids_never_put_one_customer_on_another_invoice(sandbox, arun) -> None:
    sb = sandbox
    seller = sb.sellers[0].name

    def own_email(invoice_id: str) -> str:
        doc = sb.truth_invoice_document(seller, int(invoice_id))
        [customer] = [i for i in doc["included"] if i["id"] == "customer"]
        return str(customer["attributes"]["email_address"])

    sb.set_shapes({"included_ids_reused"})

    async def use(c: MarketplacerClient) -> tuple[list[Invoice], list[Invoice]]:
        return await c.all_invoices(page_size=20), await c.all_invoices(page_size=1)

    shared, single = arun(with_client(sb, use)())
    emails = {inv.id: own_email(inv.id) for inv in shared}
    for inv in shared:
        assert inv.customer.email in ("", emails[inv.id])
        assert not inv.customer.email
        assert any(p.startswith("customer could not be resolved") for p in inv.problems)
        assert any(p.startswith("billing_customer could not be resolved") for p in inv.problems)
        raw = json.dumps(inv.raw)
        assert not [e for other, e in emails.items() if other != inv.id and e in raw]
    # One invoice a page: the id is unambiguous, so the customer is resolved.
    assert all(inv.customer.email == own_email(inv.id) for inv in single[:10])
    assert not [p for inv in single for p in inv.problems if "could not be resolved" in p]
