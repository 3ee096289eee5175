"""The command line: the same services as the window, for scripts and scheduled jobs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from invoicedesk.sandbox import Sandbox
from tests.cli_helpers import cli_env, run_cli, write_config


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    sb = Sandbox(seed=41, orders=60, invoices=60, rate_limits=False)
    sb.start()
    folder = tmp_path_factory.mktemp("cli")
    config, secrets = write_config(sb, folder)
    env = cli_env(folder / "data", secrets, config)
    yield sb, env, folder, secrets
    sb.stop()


def listing(env) -> list[dict]:
    out = run_cli(env, "list", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_sync_then_list_as_json(world) -> None:
    sb, env, _folder, _secrets = world
    out = run_cli(env, "sync")
    assert out.returncode == 0, out.stderr
    assert "requests" in out.stderr  # progress and a summary go to stderr
    rows = listing(env)
    expected = sum(len(sb.truth_orders(s.login)) for s in sb.stores) + len(sb.truth_invoices("bikeshop"))
    assert len(rows) == expected
    keys = {"source", "account", "id", "date", "customer", "email", "total", "currency", "status",
            "delivery_type", "invoice_public_id", "invoice_url", "needs_action"}
    assert keys <= set(rows[0])
    assert all(r["total"] is None or isinstance(r["total"], str) for r in rows)
    clp = [r for r in rows if r["currency"] == "CLP"]
    assert clp and all("." not in r["total"] or r["total"].endswith(".0") for r in clp)


def test_list_filters(world) -> None:
    _sb, env, _folder, _secrets = world
    out = run_cli(env, "list", "--json", "--source", "marketplacer", "--needs-action")
    rows = json.loads(out.stdout)
    assert rows and all(r["source"] == "marketplacer" and r["needs_action"] for r in rows)
    email = rows[0]["email"]
    found = json.loads(run_cli(env, "list", "--json", "--search", email).stdout)
    assert any(r["id"] == rows[0]["id"] for r in found)


def test_invoice_one_order_then_all_pending(world) -> None:
    sb, env, _folder, _secrets = world
    pending = [r for r in listing(env) if r["needs_action"] == "invoice"]
    first = pending[0]
    out = run_cli(env, "invoice", "--account", first["account"], first["id"])
    if out.returncode != 0:
        assert "tax ID" in out.stderr  # a refusal is one clear line with the service's words
    else:
        assert "done" in out.stdout
    out = run_cli(env, "invoice", "--all-pending")
    # Business customers without a tax id are refused by the service: exit 1, others invoiced.
    assert out.returncode in (0, 1), out.stderr
    after = listing(env)
    still = [r for r in after if r["needs_action"] == "invoice"]
    for r in still:
        assert "tax ID" in out.stderr or r["id"] in out.stderr
    per_order: dict[tuple, int] = {}
    for d in sb.invoices_created():
        key = (d["store"], str(d["order_id"]), d["kind"])
        per_order[key] = per_order.get(key, 0) + 1
    assert per_order and max(per_order.values()) == 1


def test_mark_refused_before_any_request_with_the_reason(world) -> None:
    sb, env, _folder, _secrets = world
    rows = listing(env)
    cc = next(r for r in rows if r["source"] == "marketplacer" and r["delivery_type"] == "click_and_collect")
    before = sb.requests("marketplacer")
    out = run_cli(env, "mark", "sent", cc["id"], "--tracking", "T123", "--carrier", "AusPost")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "Buy Online" in out.stderr
    assert sb.requests("marketplacer") - before <= 1  # no write was sent


def test_mark_sent_with_tracking(world) -> None:
    sb, env, _folder, _secrets = world
    todo = next(r for r in listing(env) if r["needs_action"] == "mark_sent")
    out = run_cli(env, "mark", "sent", todo["id"], "--tracking", "33PKP0004327", "--carrier", "Australia Post")
    assert out.returncode == 0, out.stderr
    truth = {str(r["id"]): r["attributes"] for r in sb.truth_invoices("bikeshop")}
    assert truth[todo["id"]]["status"] == "sent"
    assert "33PKP0004327" in truth[todo["id"]]["postage_tracking"]


def test_export_csv_and_json_work_offline(world, tmp_path: Path) -> None:
    sb, env, _folder, _secrets = world
    sb.stop()  # the services are gone; the cache still answers
    try:
        target = tmp_path / "out.csv"
        out = run_cli(env, "export", "--format", "csv", "--output", str(target))
        assert out.returncode == 0, out.stderr
        rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
        assert len(rows) == len(listing(env)) > 0
        out = run_cli(env, "export", "--format", "json")
        assert len(json.loads(out.stdout)) == len(rows)
        out = run_cli(env, "sync")
        assert out.returncode == 1 and out.stderr.strip()
    finally:
        sb.start()


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[jumpseller]]\nname = "x"\n', encoding="utf-8")
    env = cli_env(tmp_path / "d", {}, bad)
    out = run_cli(env, "list")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "'login' is required" in out.stderr


def test_no_secret_lands_in_the_data_folder(world) -> None:
    _sb, _env, folder, secrets = world
    data = folder / "data"
    blobs = [p.read_bytes() for p in data.rglob("*") if p.is_file()]
    assert blobs
    for value in secrets.values():
        for blob in blobs:
            assert value.encode() not in blob
