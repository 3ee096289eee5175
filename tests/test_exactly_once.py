"""Never twice, never stuck: exactly-once invoicing with real processes and the services' shapes.

Every test talks HTTP to the sandbox and counts, at the sandbox's invoicing service, how many
documents were really issued per order.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from invoicedesk.domain import document_kind
from invoicedesk.sandbox import Sandbox
from tests.cli_helpers import cli_env, invoicedesk_cmd, run_cli, write_config
from tests.store_helpers import (
    HoldingProxy,
    attach_document,
    issued,
    paid_orders,
    set_order_status,
)


def open_shop(tmp_path: Path, **kw: object):
    sb = Sandbox(seed=23, orders=60, invoices=10, stores=1, rate_limits=False, **kw)
    sb.start()
    config, secrets = write_config(sb, tmp_path)
    env = cli_env(tmp_path / "data", secrets, config)
    return sb, env, config


@pytest.fixture
def shop(tmp_path: Path):
    sb, env, config = open_shop(tmp_path)
    yield sb, env, config
    sb.stop()


def with_credit_notes(sb, config: Path) -> None:
    config.write_text(
        config.read_text().replace(
            "invoicing_url =", f'credit_note_url = "{sb.credit_note_url}"\ninvoicing_url =', 1
        )
    )


def journal(env: dict[str, str]) -> list[tuple[str, str, str]]:
    with sqlite3.connect(Path(env["INVOICEDESK_DATA_DIR"]) / "cache.sqlite3") as db:
        return db.execute("SELECT record_id, action, state FROM journal ORDER BY id").fetchall()


# ---------------------------------------------------------------- 1. one claim, across processes


def test_a_second_process_acting_on_a_stale_read_is_refused_at_the_claim(shop, tmp_path: Path) -> None:
    """Process B reads the order's documents (none yet); its answer is held on the way back
    while process A invoices the same order completely; then B gets its stale read. Before, B
    invoiced the order a second time; the claim now counts A's finished invoice."""
    sb, env, config = shop
    login = sb.stores[0].login
    order = paid_orders(sb, login)[0]
    proxy = HoldingProxy(sb.port, marker=f"/orders/{order}/documents.json".encode()).start()
    try:
        slow_config = tmp_path / "slow.toml"
        slow_config.write_text(
            config.read_text().replace(sb.jumpseller_url, f"http://127.0.0.1:{proxy.port}/jumpseller/v1")
        )
        env_b = {**env, "INVOICEDESK_CONFIG": str(slow_config)}
        b = subprocess.Popen(
            invoicedesk_cmd("invoice", str(order)), env=env_b, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        assert proxy.held.wait(60), "process B never read the order's documents"
        a = run_cli(env, "invoice", str(order))
        assert a.returncode == 0, a.stderr
        proxy.release()
        out_b, err_b = b.communicate(timeout=120)
    finally:
        proxy.stop()
    assert issued(sb, login)[order] == 1
    assert b.returncode == 0, err_b
    assert "already_done" in out_b and "nothing was sent" in err_b
    assert [s for _, a_, s in journal(env) if a_ == "invoice"] == ["done"]


@pytest.mark.slow
def test_racing_processes_on_one_folder_invoice_every_order_exactly_once(shop) -> None:
    """Four ``invoice --all-pending`` and a ``sync --full`` at once on one data folder, with
    slow reads so that their windows overlap: every paid order ends with one invoice."""
    sb, env, _config = shop
    login = sb.stores[0].login
    assert run_cli(env, "sync").returncode == 0
    todo = paid_orders(sb, login)
    assert len(todo) >= 5
    sb.inject("jumpseller", "slow", rate=1.0, delay=0.05)
    procs = [
        subprocess.Popen(invoicedesk_cmd(*args), env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for args in (["invoice", "--all-pending"],) * 4 + (["sync", "--full"],)
    ]
    errors = "".join(p.communicate(timeout=300)[1] for p in procs)
    sb.clear_faults()
    assert "database is locked" not in errors
    # One more run finishes anything a racer left (e.g. an order another racer held).
    final = run_cli(env, "invoice", "--all-pending")
    assert "0 outcome unknown" in final.stderr, final.stderr
    counts = issued(sb, login)
    assert max(counts.values()) == 1, {o: n for o, n in counts.items() if n > 1}
    assert set(counts) == set(todo)
    assert "Traceback" not in errors


# ---------------------------------------------------------------- 2. documents as the spec writes them


@pytest.mark.parametrize(
    ("value", "kind"),
    [(1, 1), ("1", 1), ("1 - invoice", 1), ("invoice", 1), (" Invoice ", 1), (0, 0), ("0", 0),
     ("0 - credit note", 0), ("credit note", 0), ("credit_note", 0), (2, -1), ("7 - receipt", -1),
     ("1 - credit note", -1), (True, -1), (None, -1), ([], -1), ("", -1), (1.0, 1)],
)
def test_document_kind_reads_every_spelling(value: object, kind: int) -> None:
    assert document_kind(value) == kind


@pytest.mark.parametrize("written", ["1 - invoice", "1", "invoice"])
def test_an_invoice_from_another_app_written_as_text_is_seen(shop, written: str) -> None:
    sb, env, _ = shop
    login = sb.stores[0].login
    order = paid_orders(sb, login)[0]
    attach_document(sb, login, order, document_type=written, public_id="OTHER-77", app_code="other-billing")
    result = run_cli(env, "invoice", str(order))
    assert result.returncode == 0, result.stderr
    assert "already_done OTHER-77" in result.stdout
    assert issued(sb, login)[order] == 0
    listed = json.loads(run_cli(env, "list", "--json").stdout)
    row = next(r for r in listed if r["id"] == str(order))
    assert row["needs_action"] == ""


def test_a_document_of_unreadable_type_asks_staff_and_all_pending_skips_it(shop) -> None:
    sb, env, _ = shop
    login = sb.stores[0].login
    order = paid_orders(sb, login)[0]
    attach_document(sb, login, order, document_type="9 - receipt", public_id="RCPT-1", app_code="pos-app")
    assert run_cli(env, "sync").returncode == 0
    single = run_cli(env, "invoice", str(order))
    assert single.returncode != 0
    assert "RCPT-1" in single.stderr and "pos-app" in single.stderr and "confirm" in single.stderr
    bulk = run_cli(env, "invoice", "--all-pending")
    assert bulk.returncode != 0
    assert f"order {order}: skipped" in bulk.stderr
    assert issued(sb, login)[order] == 0
    # Each skipped order has its line (this one, and any the invoicing rules refuse as they stand).
    skipped_lines = bulk.stderr.count(": skipped: ")
    assert bulk.stderr.count("documents whose type cannot be read") == 1
    assert f"{skipped_lines} skipped" in bulk.stderr
    confirmed = run_cli(env, "invoice", str(order), "--confirm-documents")
    assert confirmed.returncode == 0, confirmed.stderr
    assert issued(sb, login)[order] == 1


# ---------------------------------------------------------------- 3. credit notes only where configured


def test_credit_note_without_an_endpoint_sends_nothing(shop, tmp_path: Path) -> None:
    sb, env, _config = shop
    login = sb.stores[0].login
    order = paid_orders(sb, login)[0]
    assert run_cli(env, "invoice", str(order)).returncode == 0
    set_order_status(sb, login, order, "canceled")
    assert run_cli(env, "sync").returncode == 0
    result = run_cli(env, "credit-note", str(order))
    assert result.returncode != 0
    assert "credit note URL" in result.stderr and "credit_note_url" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert issued(sb, login, "credit_note")[order] == 0
    assert issued(sb, login)[order] == 1


def test_credit_note_goes_to_the_configured_endpoint(shop) -> None:
    sb, env, config = shop
    login = sb.stores[0].login
    order = paid_orders(sb, login)[0]
    assert run_cli(env, "invoice", str(order)).returncode == 0
    set_order_status(sb, login, order, "canceled")
    text = config.read_text().replace(
        "invoicing_url =", f'credit_note_url = "{sb.credit_note_url}"\ninvoicing_url =', 1
    )
    config.write_text(text)
    result = run_cli(env, "credit-note", str(order))
    assert result.returncode == 0, result.stderr
    assert issued(sb, login, "credit_note")[order] == 1
    docs = sb.truth_documents(login)[order]
    assert sorted(int(d["document_type"]) for d in docs) == [0, 1]
    again = run_cli(env, "credit-note", str(order))
    assert again.returncode == 0 and "already_done" in again.stdout
    assert issued(sb, login, "credit_note")[order] == 1


# ---------------------------------------------------------------- 4. outcome by error type


def test_a_wrong_hooks_token_fails_cleanly_and_a_rerun_invoices(shop) -> None:
    """A 401 from the invoicing service means nothing was made: ``failed``, not ``unknown``;
    the run exits non-zero and says so; once the token is right, the rerun invoices."""
    sb, env, _ = shop
    login = sb.stores[0].login
    assert run_cli(env, "sync").returncode == 0
    todo = paid_orders(sb, login)
    wrong = {**env, "JS_HOOKS_0": "0" * 32}
    bad = run_cli(wrong, "invoice", "--all-pending")
    assert bad.returncode != 0
    assert "0 invoiced," in bad.stderr and " failed, 0 outcome unknown" in bad.stderr
    assert {s for _, _, s in journal(env)} == {"failed"}
    assert issued(sb, login) == {}
    good = run_cli(env, "invoice", "--all-pending")
    assert f"{len(todo)} invoiced," in good.stderr
    assert set(issued(sb, login)) == set(todo)


def test_connection_refused_is_failed_and_retry_is_allowed(shop, tmp_path: Path) -> None:
    sb, env, config = shop
    login = sb.stores[0].login
    order = paid_orders(sb, login)[0]
    closed = socket_port_closed()
    refused = tmp_path / "refused.toml"
    refused.write_text(config.read_text().replace(sb.invoicing_url, f"http://127.0.0.1:{closed}/inv"))
    result = run_cli({**env, "INVOICEDESK_CONFIG": str(refused)}, "invoice", str(order))
    assert result.returncode != 0
    assert "could not connect" in result.stderr
    assert journal(env)[-1][2] == "failed"
    retry = run_cli(env, "invoice", str(order))
    assert retry.returncode == 0, retry.stderr
    assert issued(sb, login)[order] == 1


def test_a_dropped_answer_is_unknown_and_check_adopts_what_appeared(shop) -> None:
    """The invoicing POST's answer is lost: ``unknown``, never re-sent without confirmation.
    ``check`` finds nothing attached yet and says so; once the invoice shows on the order
    (attached by the service or another desk), ``check`` adopts it."""
    sb, env, _ = shop
    login = sb.stores[0].login
    order = paid_orders(sb, login)[0]
    sb.inject("invoicing", "drop", count=1)
    lost = run_cli(env, "invoice", str(order))
    assert lost.returncode != 0 and "check before trying again" in lost.stderr
    assert journal(env)[-1][2] == "unknown"
    again = run_cli(env, "invoice", "--all-pending")
    assert again.returncode != 0 and "1 outcome unknown" in again.stderr
    assert issued(sb, login)[order] == 1
    nothing = run_cli(env, "check", str(order))
    assert nothing.returncode != 0 and "No invoice is attached" in nothing.stderr
    made = sb.invoices_created(login)[0]
    attach_document(sb, login, order, document_type=1, public_id=made["public_id"], app_code=None)
    adopted = run_cli(env, "check", str(order))
    assert adopted.returncode == 0, adopted.stderr
    assert f"adopted {made['public_id']}" in adopted.stdout
    assert journal(env)[-1][2] == "done"
    assert issued(sb, login)[order] == 1


def test_force_rereads_first_and_adopts_instead_of_resending(shop) -> None:
    sb, env, _ = shop
    login = sb.stores[0].login
    order = paid_orders(sb, login)[0]
    sb.inject("invoicing", "drop", count=1)
    assert run_cli(env, "invoice", str(order)).returncode != 0
    made = sb.invoices_created(login)[0]
    attach_document(sb, login, order, document_type="1 - invoice", public_id=made["public_id"], app_code=None)
    forced = run_cli(env, "invoice", str(order), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "adopted" in forced.stdout
    assert issued(sb, login)[order] == 1


# ---------------------------------------------------------------- 8. re-paid orders


def test_a_repaid_order_after_its_credit_note_is_invoiced_again(shop) -> None:
    sb, env, config = shop
    login = sb.stores[0].login
    order = paid_orders(sb, login)[0]
    config.write_text(
        config.read_text().replace("invoicing_url =", f'credit_note_url = "{sb.credit_note_url}"\ninvoicing_url =', 1)
    )
    assert run_cli(env, "invoice", str(order)).returncode == 0
    set_order_status(sb, login, order, "canceled")
    assert run_cli(env, "credit-note", str(order)).returncode == 0
    set_order_status(sb, login, order, "paid")
    assert run_cli(env, "sync").returncode == 0
    listed = {r["id"]: r for r in json.loads(run_cli(env, "list", "--json").stdout)}
    assert listed[str(order)]["needs_action"] == "invoice"
    again = run_cli(env, "invoice", str(order))
    assert again.returncode == 0, again.stderr
    assert issued(sb, login)[order] == 2
    assert issued(sb, login, "credit_note")[order] == 1
    # ... and not a third time.
    third = run_cli(env, "invoice", str(order))
    assert third.returncode == 0 and "already_done" in third.stdout
    assert issued(sb, login)[order] == 2
    actions = [(a, s) for rid, a, s in journal(env) if rid == str(order)]
    assert actions == [("invoice", "done"), ("credit_note", "done"), ("invoice", "done")]


def socket_port_closed() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


# ---------------------------------------------------------------- the services' other shapes


def test_a_2xx_message_refusal_is_shown_and_the_order_stays_owed(tmp_path: Path) -> None:
    """The guide's error shape with a 200: a refusal in the service's words, ``failed``, not
    an unknown outcome that would lock the order. (``--all-pending`` leaves a business
    without a tax ID alone: the rules know the service refuses it; named, it is sent.)"""
    sb, env, _ = open_shop(tmp_path, shapes={"invoicing_refuses_2xx"})
    try:
        login = sb.stores[0].login
        assert run_cli(env, "sync").returncode == 0
        listed = json.loads(run_cli(env, "list", "--json", "--needs-action").stdout)
        business = [r["id"] for r in listed if r["needs_action"] == "tax_id_missing"]
        assert business
        result = run_cli(env, "invoice", business[0])
        refused = [line for line in result.stderr.splitlines() if "Customer tax ID is required" in line]
        assert refused, result.stderr
        assert result.returncode != 0 and "unknown" not in result.stdout
        states = {s for _, _, s in journal(env)}
        assert "unknown" not in states and "failed" in states
        listed = json.loads(run_cli(env, "list", "--json", "--needs-action").stdout)
        assert next(r for r in listed if r["id"] == business[0])["needs_action"] == "tax_id_missing"
        bulk = run_cli(env, "invoice", "--all-pending")
        # The business order stays owed and named, so the run does not report success.
        assert bulk.returncode != 0 and f"order {business[0]}: skipped: Tax ID missing" in bulk.stderr
        assert issued(sb, login)[int(business[0])] == 0
        assert max(issued(sb, login).values()) == 1
    finally:
        sb.stop()


def test_an_endpoint_that_ignores_status_never_hears_of_a_cancellation(tmp_path: Path) -> None:
    """With an invoicing endpoint that would answer a canceled order with a second invoice,
    credit notes go only to the configured credit-note endpoint."""
    sb, env, config = open_shop(tmp_path, shapes={"invoicing_ignores_status"})
    try:
        login = sb.stores[0].login
        order = paid_orders(sb, login)[0]
        assert run_cli(env, "invoice", str(order)).returncode == 0
        set_order_status(sb, login, order, "canceled")
        assert run_cli(env, "credit-note", str(order)).returncode != 0
        assert sb.issued_kinds(login, order) == ["invoice"]
        with_credit_notes(sb, config)
        assert run_cli(env, "credit-note", str(order)).returncode == 0
        assert sb.issued_kinds(login, order) == ["invoice", "credit_note"]
    finally:
        sb.stop()


def test_real_world_shapes_never_invoice_an_order_another_app_invoiced(tmp_path: Path) -> None:
    """Documents as the spec writes them ("1 - invoice"), some made by another app: a sync and
    ``invoice --all-pending`` invoice only the orders that have none."""
    sb, env, _ = open_shop(tmp_path, profile="real-world")
    try:
        login = sb.stores[0].login
        before = {oid: list(docs) for oid, docs in sb.truth_documents(login).items() if docs}
        assert any(d.get("app_code") == "other-billing" for docs in before.values() for d in docs)
        todo = paid_orders(sb, login)
        assert run_cli(env, "sync").returncode == 0
        run_cli(env, "invoice", "--all-pending")
        counts = issued(sb, login)
        assert not set(counts) & set(before), "an order that had a document was invoiced again"
        assert set(counts) == set(todo)
        assert max(counts.values()) == 1
    finally:
        sb.stop()


def test_a_thin_answer_to_mark_sent_keeps_the_cached_customer(tmp_path: Path) -> None:
    """Marketplacer answers Mark Sent with only id, type and status: the cached customer, lines
    and totals stay, in the list and after a restart (the cache is read by a new process)."""
    sb, env, _ = open_shop(tmp_path, shapes={"thin_transitions"})
    try:
        seller = sb.sellers[0].name
        target = next(
            i["id"] for i in sb.truth_invoices(seller)
            if i["attributes"]["status"] == "paid" and i["attributes"]["delivery_type"] == "buy_online"
        )
        assert run_cli(env, "sync").returncode == 0
        before = next(r for r in json.loads(run_cli(env, "list", "--json").stdout) if r["id"] == str(target))
        assert before["customer"]
        sent = run_cli(env, "mark", "sent", str(target), "--tracking", "TRK1", "--carrier", "AusPost")
        assert sent.returncode == 0, sent.stderr
        after = next(r for r in json.loads(run_cli(env, "list", "--json").stdout) if r["id"] == str(target))
        assert after["status"] == "sent"
        assert after["customer"] == before["customer"] and after["total"] == before["total"]
    finally:
        sb.stop()
