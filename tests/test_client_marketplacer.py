"""A Marketplacer seller's invoices and shipments, over real HTTP against the sandbox."""

from __future__ import annotations

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
