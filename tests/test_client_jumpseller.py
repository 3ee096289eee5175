"""Staff's Jumpseller store, read and written over real HTTP against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest

from invoicedesk.clients.jumpseller import CREDIT_NOTE, INVOICE, JumpsellerClient
from invoicedesk.domain import Order, parse_datetime
from invoicedesk.errors import (
    AuthError,
    BannedError,
    NotFoundError,
    OutcomeUnknownError,
    RejectedError,
)
from invoicedesk.transport import RatePacer, RateWindow, RetryConfig, make_http_client

T = TypeVar("T")
FAST = RetryConfig(base_delay=0.01, max_delay=0.05, total_time=20.0)


def with_client(
    sb: Any,
    use: Callable[[JumpsellerClient], Awaitable[T]],
    *,
    store: int = 0,
    token: str | None = None,
    read_timeout: float = 10.0,
    pacer: RatePacer | None = None,
) -> Callable[[], Awaitable[T]]:
    """A coroutine factory: open an HTTP client in the running loop, use a JumpsellerClient."""
    account = sb.stores[store]

    async def run() -> T:
        timeout = httpx.Timeout(read_timeout, connect=2.0)
        async with make_http_client(base_url=sb.base_url, timeout=timeout) as http:
            client = JumpsellerClient(
                http,
                account=account.login,
                login=account.login,
                token=token if token is not None else account.token,
                base_url=sb.jumpseller_url,
                pacer=pacer,
                retry=FAST,
                ahead=8,
            )
            return await use(client)

    return run


def truth_ids(sb: Any, login: str, status: str | None = None) -> list[int]:
    return [
        o["order"]["id"]
        for o in sb.truth_orders(login)
        if status is None or o["order"].get("status_enum") == status
    ]


def ids(orders: list[Order]) -> list[int]:
    return [o.id for o in orders]


# -- reading orders ----------------------------------------------------------------------------


def test_count_matches_the_store(sandbox_session, arun) -> None:
    sb = sandbox_session
    login = sb.stores[0].login
    count = arun(with_client(sb, lambda c: c.count_orders())())
    assert count == len(sb.truth_orders(login)) > 100


def test_concurrent_paging_gets_every_order_exactly_once(sandbox_session, arun) -> None:
    sb = sandbox_session
    login = sb.stores[0].login

    async def use(c: JumpsellerClient) -> tuple[list[list[Order]], int]:
        pages = [page async for page in c.iter_order_pages(page_size=25)]
        return pages, c.policy.stats.rate_limited

    pages, limited = arun(with_client(sb, use)())
    got = [o.id for page in pages for o in page]
    assert sorted(got) == sorted(truth_ids(sb, login))
    assert len(got) == len(set(got))
    assert all(len(p) <= 25 for p in pages) and len(pages) >= 12
    assert got == sorted(got, reverse=True)  # page order kept: newest first, as listed
    assert limited == 0
    assert all(isinstance(o, Order) and o.account == login for p in pages for o in p)


def test_the_second_store_is_its_own_account(sandbox_session, arun) -> None:
    sb = sandbox_session
    login = sb.stores[1].login
    orders = arun(with_client(sb, lambda c: c.all_orders(), store=1)())
    assert sorted(ids(orders)) == sorted(truth_ids(sb, login))
    assert {o.currency for o in orders} == {sb.stores[1].currency}


def test_filtering_by_status(sandbox_session, arun) -> None:
    sb = sandbox_session
    login = sb.stores[0].login

    async def use(c: JumpsellerClient) -> tuple[list[Order], list[Order], int]:
        return (
            await c.all_orders(status="paid"),
            await c.orders_by_status("canceled", page_size=20),
            await c.count_orders("paid"),
        )

    paid, canceled, paid_count = arun(with_client(sb, use)())
    assert sorted(ids(paid)) == sorted(truth_ids(sb, login, "paid"))
    assert sorted(ids(canceled)) == sorted(truth_ids(sb, login, "canceled"))
    assert paid_count == len(paid) > 0
    assert {o.status for o in paid} == {"paid"} and {o.status for o in canceled} == {"canceled"}


def test_filtering_by_a_custom_date_range(sandbox_session, arun) -> None:
    sb = sandbox_session
    login = sb.stores[0].login
    last = sb.now().date()
    first = last - timedelta(days=3)

    def in_range(order: dict[str, Any]) -> bool:
        created = parse_datetime(order["order"]["created_at"])
        return created is not None and first <= created.date() <= last

    expected = sorted(o["order"]["id"] for o in sb.truth_orders(login) if in_range(o))
    orders = arun(with_client(sb, lambda c: c.all_orders(date_filter=(first, last)))())
    assert sorted(ids(orders)) == expected and expected


def test_orders_after_an_id_are_the_newer_ones(sandbox_session, arun) -> None:
    sb = sandbox_session
    login = sb.stores[0].login
    all_ids = sorted(truth_ids(sb, login))
    pivot = all_ids[len(all_ids) // 3]
    newer = arun(with_client(sb, lambda c: c.orders_after(pivot, page_size=50))())
    assert ids(newer) == [i for i in all_ids if i > pivot]


def test_get_order_and_a_missing_one(sandbox_session, arun) -> None:
    sb = sandbox_session
    truth = sb.truth_orders(sb.stores[0].login)[5]["order"]

    async def use(c: JumpsellerClient) -> Order:
        with pytest.raises(NotFoundError, match="Order not found") as info:
            await c.get_order(999_999)
        assert info.value.status == 404 and "/orders/999999.json" in str(info.value)
        return await c.get_order(truth["id"])

    order = arun(with_client(sb, use)())
    assert order.id == truth["id"]
    assert str(order.total) == str(truth["total"])


# -- documents ---------------------------------------------------------------------------------


def test_attach_and_list_documents(sandbox, arun) -> None:
    sb = sandbox
    login = sb.stores[0].login
    order_id = next(
        o["order"]["id"]
        for o in sb.truth_orders(login)
        if o["order"]["status_enum"] == "paid" and not sb.truth_documents(login).get(o["order"]["id"])
    )

    async def use(c: JumpsellerClient) -> tuple[Any, list[Any], list[Any]]:
        before = await c.list_documents(order_id)
        doc = await c.attach_document(
            order_id,
            document_type=INVOICE,
            public_id="INV-T-1",
            url="https://invoices.example.com/INV-T-1",
            external_id="ext-1",
        )
        with pytest.raises(RejectedError) as info:
            await c.attach_document(
                order_id, document_type=CREDIT_NOTE, public_id="INV-T-1", url="https://x.example",
                external_id="ext-2",
            )
        assert info.value.messages == ["Public id has already been taken"]
        return doc, before, await c.list_documents(order_id)

    doc, before, after = arun(with_client(sb, use)())
    assert before == []
    assert (doc.public_id, doc.url, doc.document_type) == (
        "INV-T-1", "https://invoices.example.com/INV-T-1", INVOICE,
    )
    assert [d.public_id for d in after] == ["INV-T-1"]
    assert [d["public_id"] for d in sb.truth_documents(login)[order_id]] == ["INV-T-1"]


def test_documents_of_a_missing_order(sandbox_session, arun) -> None:
    with pytest.raises(NotFoundError):
        arun(with_client(sandbox_session, lambda c: c.list_documents(1))())


# -- credentials ------------------------------------------------------------------------------


def test_wrong_token_is_an_auth_error_naming_the_account(sandbox_session, arun) -> None:
    sb = sandbox_session
    bad = "not-the-token-0123456789"

    async def use(c: JumpsellerClient) -> None:
        assert bad not in repr(c) and sb.stores[0].token not in repr(c)
        await c.count_orders()

    with pytest.raises(AuthError) as info:
        arun(with_client(sb, use, token=bad)())
    text = str(info.value)
    assert f"account '{sb.stores[0].login}'" in text and "the login or API token was refused" in text
    assert bad not in text and info.value.status == 401


# -- faults and limits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "count"),
    [
        ("500", 3), ("503", 1), ("html", 2), ("truncate", 2), ("drop", 2), ("slow", 1),
        ("latency", 1), ("429", 1),
    ],
)
def test_reads_recover_from_every_fault(sandbox, arun, kind: str, count: int) -> None:
    sb = sandbox
    login = sb.stores[0].login
    sb.inject("jumpseller", kind, count=count, delay=1.0)

    async def use(c: JumpsellerClient) -> tuple[list[Order], int]:
        return await c.all_orders(), c.policy.stats.retries

    orders, retries = arun(with_client(sb, use, read_timeout=0.4)())
    assert sorted(ids(orders)) == sorted(truth_ids(sb, login))
    assert retries >= count


@pytest.mark.parametrize(
    ("kind", "performed"), [("slow", True), ("drop", True), ("500", False), ("html", False)]
)
def test_attach_whose_answer_is_lost_is_sent_once(sandbox, arun, kind: str, performed: bool) -> None:
    sb = sandbox
    login = sb.stores[0].login
    order_id = truth_ids(sb, login, "paid")[0]
    before = sb.requests("jumpseller")
    existing = len(sb.truth_documents(login).get(order_id, []))

    async def use(c: JumpsellerClient) -> None:
        sb.inject("jumpseller", kind, count=1, delay=1.0)
        await c.attach_document(
            order_id, document_type=INVOICE, public_id="INV-LOST", url="https://x.example/1",
            external_id="e",
        )

    with pytest.raises(OutcomeUnknownError, match="check before trying again"):
        arun(with_client(sb, use, read_timeout=0.4)())
    assert sb.requests("jumpseller") - before == 1
    docs = sb.truth_documents(login).get(order_id, [])
    assert len(docs) - existing == (1 if performed else 0)


def test_attach_refused_with_503_is_sent_again_and_made_once(sandbox, arun) -> None:
    sb = sandbox
    login = sb.stores[0].login
    order_id = truth_ids(sb, login, "paid")[1]
    existing = len(sb.truth_documents(login).get(order_id, []))

    async def use(c: JumpsellerClient) -> Any:
        sb.inject("jumpseller", "503", count=1)
        return await c.attach_document(
            order_id, document_type=INVOICE, public_id="INV-503", url="https://x.example/2",
            external_id="e",
        )

    assert arun(with_client(sb, use)()).public_id == "INV-503"
    assert len(sb.truth_documents(login)[order_id]) - existing == 1


def test_default_pacing_stays_under_the_real_limits(sandbox, arun) -> None:
    sb = sandbox
    wanted = truth_ids(sb, sb.stores[0].login)[:30]

    async def use(c: JumpsellerClient) -> tuple[list[Order], int]:
        orders = await asyncio.gather(*(c.get_order(i) for i in wanted))
        return list(orders), c.policy.stats.rate_limited

    orders, limited = arun(with_client(sb, use)())
    assert ids(orders) == wanted
    assert limited == 0


def test_a_client_that_ignores_the_limits_is_banned_and_stops(sandbox, arun) -> None:
    sb = sandbox
    reckless = RatePacer([RateWindow(1000, 1.0)], burst=1000)  # pretends there is no limit
    wanted = truth_ids(sb, sb.stores[0].login)[:80]

    async def use(c: JumpsellerClient) -> list[Any]:
        results = await asyncio.gather(*(c.get_order(i) for i in wanted), return_exceptions=True)
        served = sb.requests("jumpseller")
        with pytest.raises(BannedError):
            await c.get_order(wanted[0])  # refused here, without asking the service
        assert sb.requests("jumpseller") == served
        return list(results)

    results = arun(with_client(sb, use, pacer=reckless)())
    bans = [r for r in results if isinstance(r, BannedError)]
    assert bans, "the sandbox bans after 30 refusals in a minute"
    ban = bans[0]
    assert ban.until is not None
    assert ban.until.astimezone().strftime("%H:%M") in str(ban) and "local time" in str(ban)
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, BannedError)]


def test_date_filter_names_pass_through(sandbox_session, arun) -> None:
    sb = sandbox_session
    login = sb.stores[0].login
    week = arun(with_client(sb, lambda c: c.all_orders(date_filter="last7days"))())
    cutoff = sb.now() - timedelta(days=7)
    expected = [
        o["order"]["id"]
        for o in sb.truth_orders(login)
        if (parse_datetime(o["order"]["created_at"]) or cutoff) > cutoff
    ]
    assert sorted(ids(week)) == sorted(expected)
