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
