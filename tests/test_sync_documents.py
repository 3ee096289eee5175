"""Which orders have an invoice, known from the store-wide document listing (real HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

from invoicedesk.sandbox import Sandbox
from invoicedesk.sync import LAZY_CHECKS
from tests.cli_helpers import cli_env, run_cli, write_config
from tests.store_helpers import issued, paid_orders


def _shop(tmp_path: Path, **kw: object):
    sb = Sandbox(seed=29, stores=1, sellers=1, invoices=5, rate_limits=False, **kw)
    sb.start()
    config, secrets = write_config(sb, tmp_path)
    return sb, cli_env(tmp_path / "data", secrets, config)


def _listed(env: dict[str, str]) -> dict[str, dict[str, object]]:
    return {r["id"]: r for r in json.loads(run_cli(env, "list", "--json", "--source", "jumpseller").stdout)}


def test_first_sync_learns_every_invoice_from_the_listing_in_few_requests(tmp_path: Path) -> None:
    sb, env = _shop(tmp_path, orders=400, shapes={"other_app_documents", "documents_unsorted"})
    try:
        login = sb.stores[0].login
        result = run_cli(env, "sync")
        assert result.returncode == 0, result.stderr
        requests = sb.requests("jumpseller")
        # 400 orders: 4 order pages, a few listing pages and the count; never one read per order.
        assert requests < 40, requests
        truth = sb.truth_documents(login)
        listed = _listed(env)
        invoiced = [oid for oid, docs in truth.items() if docs]
        assert any(d.get("app_code") == "other-billing" for oid in invoiced for d in truth[oid])
        for oid in invoiced:
            row = listed[str(oid)]
            assert row["needs_action"] != "invoice", (oid, truth[oid])
        assert not any(r["needs_action"] == "not_checked" for r in listed.values())
        # Staff act on what the listing said: nothing owed is invoiced twice.
        run_cli(env, "invoice", "--all-pending")
        assert not set(issued(sb, login)) & set(invoiced)
    finally:
        sb.stop()


def test_a_refused_listing_falls_back_to_the_newest_orders_and_says_not_checked(tmp_path: Path) -> None:
    sb, env = _shop(tmp_path, orders=900, shapes={"documents_listing_refused"})
    try:
        login = sb.stores[0].login
        result = run_cli(env, "sync")
        assert result.returncode == 0, result.stderr
        listed = _listed(env)
        not_checked = [oid for oid, r in listed.items() if r["needs_action"] == "not_checked"]
        assert not_checked, "older paid orders beyond the lazy checks say so"
        checked_paid = [
            oid for oid, r in listed.items() if r["status"] == "paid" and r["needs_action"] != "not_checked"
        ]
        assert len(checked_paid) <= LAZY_CHECKS
        assert min(int(o) for o in checked_paid) > min(int(o) for o in not_checked)  # newest first
        # Acting on a not-checked order reads its documents first: one that has an invoice
        # is never invoiced again, one that has none is invoiced once.
        truth = sb.truth_documents(login)
        had = next(int(o) for o in not_checked if truth.get(int(o)))
        owed = next(int(o) for o in not_checked if int(o) in paid_orders(sb, login))
        assert "already_done" in run_cli(env, "invoice", str(had)).stdout
        assert run_cli(env, "invoice", str(owed)).returncode == 0
        assert issued(sb, login)[had] == 0 and issued(sb, login)[owed] == 1
    finally:
        sb.stop()


def test_a_listing_that_fails_still_stores_every_order_and_the_next_sync_reads_it(tmp_path: Path) -> None:
    sb, env = _shop(tmp_path, orders=300)
    try:
        login = sb.stores[0].login
        # The first request of a first sync is the listing's first page: it breaks on every try.
        sb.inject("jumpseller", "truncate", count=5)
        result = run_cli(env, "sync")
        assert result.returncode != 0
        assert "documents.json" in result.stderr and "not complete or not valid JSON" in result.stderr
        listed = _listed(env)
        assert len(listed) == 300, "the orders were stored even though the listing failed"
        paid = {str(o) for o in paid_orders(sb, login)}
        assert paid and all(listed[o]["needs_action"] == "not_checked" for o in paid)
        # The next sync reads the listing (few requests, not one per order) and says what is owed.
        before = sb.requests("jumpseller")
        result = run_cli(env, "sync")
        assert result.returncode == 0, result.stderr
        assert sb.requests("jumpseller") - before < 30
        listed = _listed(env)
        assert not any(r["needs_action"] == "not_checked" for r in listed.values())
        truth = sb.truth_documents(login)
        for oid, docs in truth.items():
            if docs:
                assert listed[str(oid)]["needs_action"] != "invoice", oid
        assert all(listed[o]["needs_action"] == "invoice" for o in paid if not truth.get(int(o)))
    finally:
        sb.stop()


def test_after_a_refused_listing_an_incremental_sync_reads_at_most_the_lazy_checks(tmp_path: Path) -> None:
    sb, env = _shop(tmp_path, orders=900, shapes={"documents_listing_refused"})
    try:
        assert run_cli(env, "sync").returncode == 0
        before_unchecked = sum(r["needs_action"] == "not_checked" for r in _listed(env).values())
        assert before_unchecked > LAZY_CHECKS
        before = sb.requests("jumpseller")
        result = run_cli(env, "sync")
        assert result.returncode == 0, result.stderr
        # New orders (none), the recent window and at most LAZY_CHECKS document reads.
        assert sb.requests("jumpseller") - before <= LAZY_CHECKS + 15
        after_unchecked = sum(r["needs_action"] == "not_checked" for r in _listed(env).values())
        assert before_unchecked - LAZY_CHECKS <= after_unchecked < before_unchecked
    finally:
        sb.stop()
