"""Sync: the cache ends up equal to what the services hold, fetching only what changed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from invoicedesk.cache import Query
from invoicedesk.domain import parse_datetime
from invoicedesk.sandbox import Sandbox
from invoicedesk.sync import Syncer
from tests.core_helpers import cached_invoices, cached_orders, truth_invoices, truth_orders, wire


@pytest.fixture
def quick_sandbox():
    sb = Sandbox(seed=23, orders=150, invoices=150, rate_limits=False)
    sb.start()
    yield sb
    sb.stop()


def assert_converged(sb, cache) -> None:
    for store in sb.stores:
        assert cached_orders(cache, store.login) == truth_orders(sb, store.login)
    for seller in sb.sellers:
        assert cached_invoices(cache, seller.name) == truth_invoices(sb, seller.name)


def test_first_and_incremental_sync_equal_the_services_truth(quick_sandbox, tmp_path: Path, arun) -> None:
    sb = quick_sandbox
    services, cache = wire(sb, tmp_path)
    syncer = Syncer(services, cache)
    results = arun(syncer.sync_all())
    assert all(r.ok for r in results), [r.error for r in results]
    assert_converged(sb, cache)

    for _ in range(3):
        sb.advance(hours=30)
        results = arun(syncer.sync_all(deep=True))
        assert all(r.ok for r in results)
        assert_converged(sb, cache)

    # Nothing new: a few requests per account, not one per record (the deep check is not due).
    results = arun(syncer.sync_all())
    for r in results:
        assert r.requests <= 6, (r.account, r.requests)
    assert cache.integrity_check() == "ok"
    arun(services.aclose())


def test_sync_under_faults_converges_without_duplicates(quick_sandbox, tmp_path: Path, arun) -> None:
    sb = quick_sandbox
    services, cache = wire(sb, tmp_path)
    syncer = Syncer(services, cache)
    for service in ("jumpseller", "marketplacer"):
        sb.inject(service, "500", rate=0.15)
        sb.inject(service, "html", rate=0.05)
        sb.inject(service, "truncate", rate=0.05)
        sb.inject(service, "429", rate=0.05)
    # Faults may make a run fail part-way; each run keeps what it stored and the next resumes.
    for _ in range(6):
        results = arun(syncer.sync_all(), timeout=120)
        if all(r.ok for r in results):
            break
    sb.clear_faults()
    arun(syncer.sync_all())
    assert_converged(sb, cache)
    total = sum(len(sb.truth_orders(s.login)) for s in sb.stores) + sum(
        len(sb.truth_invoices(s.name)) for s in sb.sellers
    )
    assert cache.count(Query()) == total
    arun(services.aclose())


def test_a_failing_account_does_not_stop_the_others(quick_sandbox, tmp_path: Path, arun) -> None:
    sb = quick_sandbox
    services, cache = wire(sb, tmp_path)
    services.secrets.set(services.config.jumpseller[0].token_key, "wrong")
    results = {r.account: r for r in arun(Syncer(services, cache).sync_all())}
    bad = results[services.config.jumpseller[0].name]
    assert not bad.ok and services.config.jumpseller[0].name in (bad.error or "")
    assert "wrong" not in (bad.error or "")
    good = results[services.config.marketplacer[0].name]
    assert good.ok and good.fetched > 0
    state = cache.sync_state(bad.account, "jumpseller")
    assert state.last_error
    arun(services.aclose())


def test_cancelled_sync_keeps_whole_pages_and_resumes(quick_sandbox, tmp_path: Path, arun) -> None:
    import asyncio

    sb = quick_sandbox
    services, cache = wire(sb, tmp_path)
    syncer = Syncer(services, cache)
    sb.inject("jumpseller", "latency", delay=0.05)
    seen = []
    stored = asyncio.Event()

    def progress(p) -> None:
        seen.append(p)
        if p.done > 0 and p.phase == "orders":
            stored.set()  # the first page of orders is in the cache

    async def cancel_midway() -> None:
        task = asyncio.ensure_future(syncer.sync_all(progress=progress))
        await stored.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    arun(cancel_midway())
    assert cache.count(Query(source="jumpseller")) > 0
    assert cache.integrity_check() == "ok"
    sb.clear_faults()
    arun(syncer.sync_all())
    assert_converged(sb, cache)
    assert seen and seen[0].account
    arun(services.aclose())


def test_recent_changes_are_seen_without_the_deep_check(quick_sandbox, tmp_path: Path, arun) -> None:
    sb = quick_sandbox
    services, cache = wire(sb, tmp_path)
    syncer = Syncer(services, cache)
    arun(syncer.sync_all())
    sb.advance(hours=6)
    arun(syncer.sync_all())
    truth = {s.login: truth_orders(sb, s.login) for s in sb.stores}
    # Orders created in the last week (the window) match exactly; new orders all arrived.
    recent_cutoff = sb.now() - timedelta(days=6)
    for store in sb.stores:
        cached = cached_orders(cache, store.login)
        assert set(truth[store.login]) <= set(cached)
        for body in sb.truth_orders(store.login):
            o = body["order"]
            created = parse_datetime(o["created_at"])
            if created and created >= recent_cutoff:
                assert cached[str(o["id"])] == truth[store.login][str(o["id"])]
    arun(services.aclose())


def test_half_a_utf16_pair_in_names_is_stored_as_a_replacement_character(
    quick_sandbox, tmp_path: Path, arun
) -> None:
    """Names, notes and cities ending in a lone "\\ud800" escape (valid JSON, not valid Unicode):
    the sync stores every record, with U+FFFD where the half pair was, and nothing breaks."""
    sb = quick_sandbox
    services, cache = wire(sb, tmp_path)
    syncer = Syncer(services, cache)
    for service in ("jumpseller", "marketplacer"):
        sb.inject(service, "surrogate", rate=1.0)
    results = arun(syncer.sync_all())
    assert all(r.ok for r in results), [r.error for r in results]
    assert_converged(sb, cache)
    customers = [r.summary.customer for r in cache.iter_all(Query())]
    assert sum(c.endswith("\ufffd") for c in customers) > len(customers) // 4
    assert not any("\ud800" in c for c in customers)
    assert cache.count(Query(search="\ufffd")) > 0
    assert cache.integrity_check() == "ok"
    sb.clear_faults()
    arun(syncer.sync_all(deep=True))
    assert_converged(sb, cache)
    arun(services.aclose())
