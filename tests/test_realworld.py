"""Staff's key stories against the sandbox's ``real-world`` profile: every documented answer
shape at once (translated statuses without enums, listings that ignore ``page``,
``links.next`` on the last page, thin answers, no ``updated_at``, reused included ids, other
apps' documents, ``document_type`` strings, 403 rate limits, ISO ban resets, 2xx refusals)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from invoicedesk.clients.jumpseller import JumpsellerClient
from invoicedesk.clients.marketplacer import MarketplacerClient
from invoicedesk.errors import BannedError
from invoicedesk.sandbox import Sandbox
from invoicedesk.sandbox.shapes import PROFILES
from invoicedesk.sync import Syncer
from invoicedesk.transport import RetryConfig, make_http_client
from tests.core_helpers import cached_invoices, truth_invoices, wire

T = TypeVar("T")
FAST = RetryConfig(base_delay=0.01, max_delay=0.05, total_time=20.0)


@pytest.fixture(scope="module")
def world() -> Iterator[Sandbox]:
    """One real-world sandbox for the stories that only read."""
    sb = Sandbox(seed=5, orders=260, invoices=260, profile="real-world")
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def fresh_world() -> Iterator[Sandbox]:
    """A real-world sandbox of its own, for stories that change things."""
    sb = Sandbox(seed=13, orders=120, invoices=120, profile="real-world")
    sb.start()
    yield sb
    sb.stop()


def jumpseller(sb: Sandbox, use: Callable[[JumpsellerClient], Awaitable[T]]) -> Any:
    store = sb.stores[0]

    async def run() -> T:
        async with make_http_client(base_url=sb.base_url, timeout=httpx.Timeout(10, connect=2)) as http:
            return await use(JumpsellerClient(http, account=store.login, login=store.login,
                                              token=store.token, base_url=sb.jumpseller_url,
                                              retry=FAST, ahead=8))

    return run()


def marketplacer(sb: Sandbox, use: Callable[[MarketplacerClient], Awaitable[T]]) -> Any:
    seller = sb.sellers[0]

    async def run() -> T:
        async with make_http_client(base_url=sb.base_url, timeout=httpx.Timeout(10, connect=2)) as http:
            return await use(MarketplacerClient(http, account=seller.name, api_key=seller.api_key,
                                                base_url=sb.marketplacer_url,
                                                currency=seller.currency, retry=FAST, ahead=8))

    return run()


def truth_status(sb: Sandbox) -> dict[int, str]:
    return {o["order"]["id"]: o["order"]["status_enum"] for o in sb.truth_orders(sb.stores[0].login)}


def test_the_profile_is_every_shape_but_the_refused_listing(world: Sandbox) -> None:
    assert world.shapes == PROFILES["real-world"]
    assert "documents_listing_refused" not in world.shapes and len(world.shapes) >= 13


def test_staff_lists_every_order_with_canonical_statuses(world: Sandbox, arun) -> None:
    orders = arun(jumpseller(world, lambda c: c.all_orders(page_size=50)))
    assert {o.id: o.status for o in orders} == truth_status(world)
    assert len(orders) == len({o.id for o in orders}) > 100
    assert not [p for o in orders for p in o.problems if "status" in p]


def test_new_orders_and_open_statuses_on_a_store_that_ignores_page(world: Sandbox, arun) -> None:
    truth = truth_status(world)
    oldest = min(truth)

    async def use(c: JumpsellerClient) -> tuple[list[Any], list[Any], list[Any]]:
        return (await c.orders_after(oldest, page_size=50),
                await c.orders_by_status("paid", page_size=50),
                await c.orders_by_status("pending_payment", page_size=50))

    after, paid, pending = arun(jumpseller(world, use))
    assert [o.id for o in after] == sorted(i for i in truth if i > oldest)
    assert sorted(o.id for o in paid) == sorted(i for i, s in truth.items() if s == "paid")
    assert sorted(o.id for o in pending) == sorted(i for i, s in truth.items()
                                                   if s == "pending_payment")
    assert {o.status for o in paid} == {"paid"}


def test_one_pass_over_the_store_documents_tells_which_orders_have_one(world: Sandbox,
                                                                         arun) -> None:
    login = world.stores[0].login
    truth = {oid for oid, docs in world.truth_documents(login).items() if docs}

    async def use(c: JumpsellerClient) -> tuple[Any, int]:
        listed = await c.all_store_documents()
        # A refusal by the rate limit (a 403 here) is asked again: not a page of its own.
        return listed, c.policy.stats.requests - c.policy.stats.rate_limited

    listed, requests = arun(jumpseller(world, use))
    assert listed is not None
    assert {d.order_id for d in listed} == truth
    assert {d.app_code for d in listed} >= {"other-billing"}
    assert requests == -(-len(listed) // 100) + 1  # every page, then the empty one


def test_staff_lists_every_invoice_without_wrong_customers(world: Sandbox, arun) -> None:
    seller = world.sellers[0].name
    invoices = arun(marketplacer(world, lambda c: c.all_invoices()))
    truth = [r["id"] for r in world.truth_invoices(seller)]
    assert sorted(i.id for i in invoices) == sorted(truth) and len(invoices) == len(truth)
    for inv in invoices[:40]:
        [own] = [c for c in world.truth_invoice_document(seller, int(inv.id))["included"]
                 if c["id"] == "customer"]
        assert inv.customer.email in ("", own["attributes"]["email_address"])
        assert inv.updated_at is None and inv.paid_at is not None
    assert all(i.customer.email or any("could not be resolved" in p for p in i.problems)
               for i in invoices)


def test_staff_marks_an_invoice_sent_and_gets_a_thin_answer(fresh_world: Sandbox, arun) -> None:
    sb = fresh_world
    seller = sb.sellers[0].name
    wanted = next(r["id"] for r in sb.truth_invoices(seller)
                  if r["attributes"]["status"] == "paid"
                  and r["attributes"]["delivery_type"] == "buy_online")
    sent = arun(marketplacer(sb, lambda c: c.mark_sent(wanted, tracking="RW-1", carrier="AusPost")))
    assert (sent.id, sent.status) == (wanted, "sent")
    shown = sb.truth_invoice_document(seller, int(wanted))["data"]["attributes"]
    assert shown["status"] == "sent" and shown["postage_tracking"] == "RW-1"


def test_a_ban_with_an_iso_reset_stops_the_client_until_then(fresh_world: Sandbox, arun) -> None:
    sb = fresh_world
    sb.ban(sb.stores[0].login, 300)

    async def use(c: JumpsellerClient) -> BannedError:
        with pytest.raises(BannedError) as caught:
            await c.all_orders()
        return caught.value

    ban = arun(jumpseller(sb, use))
    assert ban.until is not None
    assert 290 < (ban.until - datetime.now(UTC)).total_seconds() <= 301


def test_invoices_sync_twice_without_updated_at(fresh_world: Sandbox, tmp_path: Path, arun) -> None:
    sb = fresh_world
    sb.set_rate_limits(False)
    seller = sb.sellers[0].name
    services, cache = wire(sb, tmp_path)
    syncer = Syncer(services, cache)

    def sync_and_compare() -> None:
        results = arun(syncer.sync_all())
        assert all(r.ok for r in results), [r.error for r in results]
        assert cached_invoices(cache, seller) == truth_invoices(sb, seller)

    try:
        sync_and_compare()
        sb.advance(hours=30)
        # The oldest paid invoice changes: the cursor (paid_at, for want of updated_at) is
        # far past its paid_at, so only the service's own updated_since can bring it back.
        oldest = next(r["id"] for r in sb.truth_invoices(seller)
                      if r["attributes"]["status"] == "paid"
                      and r["attributes"]["delivery_type"] == "buy_online")
        arun(marketplacer(sb, lambda c: c.mark_sent(oldest, tracking="RW-2", carrier="AusPost")))
        sync_and_compare()
        assert truth_invoices(sb, seller)[oldest] == "sent"
    finally:
        arun(services.aclose())
