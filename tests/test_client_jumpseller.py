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


# -- the other documented answer shapes (sandbox shapes) --------------------------------------


def test_status_and_after_listings_end_on_a_store_that_ignores_page(sandbox, arun) -> None:
    """Staff's store answers /orders/status and /orders/after with page 1, whatever page says."""
    sb = sandbox
    sb.set_shapes({"paging_ignored"})
    login = sb.stores[0].login
    first = truth_ids(sb, login)[0]

    async def use(c: JumpsellerClient) -> tuple[list[Order], list[Order], int]:
        before = sb.requests("jumpseller")
        after = await c.orders_after(first, page_size=10)
        paid = await c.orders_by_status("paid", page_size=10)
        return after, paid, sb.requests("jumpseller") - before

    after, paid, requests = arun(with_client(sb, use)())
    assert ids(after) == [i for i in truth_ids(sb, login) if i > first]
    assert sorted(ids(paid)) == sorted(truth_ids(sb, login, "paid"))
    assert len(ids(paid)) == len(set(ids(paid)))
    # After: one request per 10 new orders (a cursor, not pages). Status: page 1, its repeat,
    # then the documented /orders.json listing (count + pages): bounded, never a loop.
    assert requests <= (len(after) // 10 + 1) + 2 + (len(paid) // 10 + 2)


def test_a_short_or_empty_page_ends_the_status_listing(sandbox, arun) -> None:
    sb = sandbox
    sb.set_shapes({"paging_ignored"})
    login = sb.stores[0].login
    wanted = sorted(truth_ids(sb, login, "abandoned"))
    assert 0 < len(wanted) < 100

    async def use(c: JumpsellerClient) -> tuple[list[Order], int]:
        before = sb.requests("jumpseller")
        orders = await c.orders_by_status("abandoned")
        return orders, sb.requests("jumpseller") - before

    orders, requests = arun(with_client(sb, use)())
    assert sorted(ids(orders)) == wanted and requests == 1


def test_statuses_in_portuguese_and_french_are_read(sandbox, arun) -> None:
    sb = sandbox
    sb.set_shapes({"statuses_pt_fr"})
    login = sb.stores[0].login
    orders = arun(with_client(sb, lambda c: c.all_orders())())
    truth = {o["order"]["id"]: o["order"]["status_enum"] for o in sb.truth_orders(login)}
    assert {o.id: o.status for o in orders} == truth
    assert {o.status_label for o in orders} >= {"Pago", "Payé"}
    assert not [o for o in orders if any("status" in p for p in o.problems)]


def test_an_unknown_status_word_is_flagged_not_a_crash(sandbox_session) -> None:
    from invoicedesk.domain import parse_order

    body = sandbox_session.truth_orders(sandbox_session.stores[0].login)[0]
    order = dict(body["order"])
    del order["status_enum"]
    order["status"] = order["status_name"] = "Em análise"
    parsed = parse_order({"order": order}, account="demo")
    assert parsed.status == "unknown" and parsed.status_label == "Em análise"
    assert any("Em análise" in p for p in parsed.problems)


def test_the_store_wide_document_listing(sandbox, arun) -> None:
    sb = sandbox
    sb.set_shapes({"documents_unsorted", "other_app_documents", "doc_type_strings"})
    login = sb.stores[0].login
    truth = {
        (oid, d["public_id"], d["app_code"] or "")
        for oid, docs in sb.truth_documents(login).items()
        for d in docs
    }

    async def use(c: JumpsellerClient) -> Any:
        return await c.all_store_documents(page_size=7)

    listed = arun(with_client(sb, use)())
    assert listed is not None
    got = [(d.order_id, d.document.public_id, d.app_code) for d in listed]
    assert len(got) == len(set(got)) and set(got) == truth
    assert any(app == "other-billing" for _, _, app in got)
    sb.set_shapes({"documents_listing_refused"})
    assert arun(with_client(sb, use)()) is None


def test_a_403_at_zero_remaining_is_rate_limiting_not_a_wrong_token(sandbox, arun) -> None:
    sb = sandbox
    sb.set_shapes({"rate_limit_403"})
    reckless = RatePacer([RateWindow(1000, 1.0)], burst=1000)  # pretends there is no limit
    wanted = truth_ids(sb, sb.stores[0].login)[:40]

    async def use(c: JumpsellerClient) -> tuple[list[Any], int]:
        got = await asyncio.gather(*(c.get_order(i) for i in wanted), return_exceptions=True)
        return list(got), c.policy.stats.rate_limited

    results, limited = arun(with_client(sb, use, pacer=reckless)())
    assert limited > 0, "40 requests at once meet the 20/s limit"
    assert [r.id for r in results if isinstance(r, Order)] == wanted, [
        r for r in results if not isinstance(r, Order)
    ]


@pytest.mark.parametrize("shapes", [{"ban_reset_iso"}, {"ban_reset_iso", "rate_limit_403"}])
def test_a_ban_with_an_iso_reset_time_stops_the_client(sandbox, arun, shapes) -> None:
    from datetime import UTC, datetime

    sb = sandbox
    sb.set_shapes(shapes)
    login = sb.stores[0].login
    sb.ban(login, 600)

    async def use(c: JumpsellerClient) -> BannedError:
        with pytest.raises(BannedError) as caught:
            await c.count_orders()
        served = sb.requests("jumpseller")
        with pytest.raises(BannedError):
            await c.count_orders()  # refused here, without asking the service
        assert sb.requests("jumpseller") == served
        return caught.value

    ban = arun(with_client(sb, use)())
    assert ban.until is not None
    left = (ban.until - datetime.now(UTC)).total_seconds()
    assert 590 < left <= 601
