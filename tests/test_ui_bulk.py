"""Staff act on several records at once, after one question, against the sandbox over real HTTP.

One small shop is synced once per module; each story opens its own window over a private copy
of that cache and acts on orders no other story touches (the first pair of neighbours from
the top, the others counted from the bottom of the orders owing an invoice). "Invoice All Pending" invoices the
whole shop, so it gets a shop of its own. The question's words and the summary are also
checked without a window (``bulk_plan``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QSettings, Qt

from invoicedesk.bulk_plan import (
    BulkPlan,
    BulkResult,
    Skipped,
    confirmation_text,
    make_plan,
    question,
    result_text,
    short_reason,
)
from invoicedesk.cache import Cache, Query
from invoicedesk.domain import Source, Summary, parse_order
from invoicedesk.sandbox import Sandbox
from invoicedesk.ui.records_model import Column, RecordsModel
from tests.ui_helpers import Desk, answer, close_desk, copy_cache, make_desk, sync_in_thread

SHOP = {"seed": 5, "orders": 90, "invoices": 30, "stores": 1, "sellers": 1, "rate_limits": False}
WAIT = 20_000


@dataclass
class Shop:
    sandbox: Any
    synced: Path


def _shop(folder: Path, **kw: Any) -> Shop:
    sb = Sandbox(**{**SHOP, **kw})
    sb.start()
    sync_in_thread(sb, folder)
    return Shop(sb, folder)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    s = _shop(tmp_path_factory.mktemp("bulk-shop"))
    yield s
    s.sandbox.stop()


def _open(qtbot, qrun, shop: Shop, folder: Path, **kw: Any) -> Desk:
    desk = make_desk(shop.sandbox, copy_cache(shop.synced, folder), sync_on_start=False, **kw)
    desk.window.show()
    qtbot.waitExposed(desk.window)
    desk.window.start()
    qrun(desk.window.ready())
    return desk




@pytest.fixture
def desk(qtbot, qrun, shop: Shop, tmp_path: Path) -> Iterator[Desk]:
    d = _open(qtbot, qrun, shop, tmp_path / "data")
    yield d
    close_desk(qrun, d)


# ----------------------------------------------------------------------------- helpers


def load_all(desk: Desk) -> RecordsModel:
    model = desk.window.model
    while model.canFetchMore():
        model.fetchMore()
    return model


def rows_needing(desk: Desk, words: str) -> list[int]:
    model = load_all(desk)
    return [r for r in range(model.rowCount()) if model.data(model.index(r, Column.NEEDS_ACTION)) == words]


def row_id(desk: Desk, row: int) -> str:
    summary = desk.window.model.summary(row)
    assert summary is not None
    return summary.id


def select_rows(desk: Desk, rows: list[int]) -> None:
    """Select exactly these rows (as Ctrl+click would), the first one current."""
    w = desk.window
    sel = w.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag
    sel.setCurrentIndex(w.model.index(rows[0], 0), flags.ClearAndSelect | flags.Rows)
    for r in rows[1:]:
        sel.select(w.model.index(r, 0), flags.Select | flags.Rows)


def made_for(sb: Any, login: str, order_id: str) -> int:
    return sum(1 for d in sb.invoices_created(login) if str(d["order_id"]) == str(order_id))


def wait_bulk_done(qtbot, desk: Desk) -> str:
    qtbot.waitUntil(lambda: desk.window.bulk_runner is None, timeout=WAIT * 3)
    return desk.window.message_bar.text()


def login(desk: Desk) -> str:
    return desk.login


# ----------------------------------------------------------------------------- stories


def test_shift_down_selects_two_paid_orders_and_ctrl_i_invoices_both_after_one_question(
    qtbot, desk: Desk
) -> None:
    w, sb = desk.window, desk.sandbox
    owed = rows_needing(desk, "Create invoice")
    first = next(r for r in owed[: len(owed) - 15] if r + 1 in owed)  # clear of the other stories
    ids = [row_id(desk, first), row_id(desk, first + 1)]
    assert w.select_record("jumpseller", login(desk), ids[0])
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    w.table.setFocus()
    qtbot.keyClick(w.table, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert [s.id for s in w.selected_summaries()] == ids
    assert w.create_invoice_action.isEnabled()
    assert "2 of 2 selected" in w.create_invoice_action.toolTip()

    qtbot.keyClick(w.table, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    asked = answer(qtbot, w)
    assert asked.startswith(f"Create 2 invoices for {login(desk)}, total ")
    assert "skipped" not in asked
    summary = wait_bulk_done(qtbot, desk)

    assert summary == "2 invoiced."
    assert [made_for(sb, login(desk), i) for i in ids] == [1, 1]
    for i in ids:
        key = ("jumpseller", login(desk), i)
        row = w.model.row_of_key(key)
        assert row is not None and w.model.data(w.model.index(row, Column.NEEDS_ACTION)) == ""
    assert w.bulk_progress is None  # the progress dialog closed


def test_a_business_without_tax_id_is_skipped_with_its_reason_and_says_so_in_the_list(
    qtbot, desk: Desk
) -> None:
    w, sb = desk.window, desk.sandbox
    refused = rows_needing(desk, "Tax ID missing")
    assert refused, "the shop needs a business customer without a tax ID"
    owed = rows_needing(desk, "Create invoice")[-1]
    biz, good = row_id(desk, refused[0]), row_id(desk, owed)
    select_rows(desk, [refused[0], owed])
    assert w.create_invoice_action.isEnabled()

    w.create_invoice_action.trigger()
    asked = answer(qtbot, w)
    assert asked.startswith(f"Create 1 invoice for {login(desk)}")
    assert f"1 selected order is skipped: {biz} (Tax ID missing)" in asked
    assert wait_bulk_done(qtbot, desk) == "1 invoiced."
    assert made_for(sb, login(desk), good) == 1
    assert made_for(sb, login(desk), biz) == 0
    row = w.model.row_of_key(("jumpseller", login(desk), biz))
    assert row is not None and w.model.data(w.model.index(row, Column.NEEDS_ACTION)) == "Tax ID missing"


def test_an_order_found_with_an_unreadable_document_fails_alone_and_the_summary_says_why(
    qtbot, desk: Desk
) -> None:
    """The document appeared after the last sync: the fresh read right before acting finds
    it, that order is not invoiced (staff look first), the other one is."""
    from tests.store_helpers import attach_document

    w, sb = desk.window, desk.sandbox
    rows = rows_needing(desk, "Create invoice")[-14:-12]
    ids = [row_id(desk, r) for r in rows]
    attach_document(sb, login(desk), int(ids[0]), document_type="9 - receipt", public_id="RCPT-9", app_code="pos")
    select_rows(desk, rows)
    w.create_invoice_action.trigger()
    assert answer(qtbot, w).startswith("Create 2 invoices")
    summary = wait_bulk_done(qtbot, desk)
    assert summary.startswith(f"1 invoiced; 1 failed: {ids[0]} (") and "RCPT-9" in summary
    assert w.confirm_box is None  # one of many: no question pops up in the middle
    assert [made_for(sb, login(desk), i) for i in ids] == [0, 1]


def test_nothing_is_sent_when_staff_cancel_the_question(qtbot, desk: Desk) -> None:
    w, sb = desk.window, desk.sandbox
    owed = rows_needing(desk, "Create invoice")
    rows = owed[-3:-1]
    select_rows(desk, rows)
    w.create_invoice_action.trigger()
    answer(qtbot, w, yes=False)
    assert w.bulk_runner is None
    assert [made_for(sb, login(desk), row_id(desk, r)) for r in rows] == [0, 0]


def test_cancel_stops_before_the_next_order_never_in_the_middle_of_one(qtbot, desk: Desk) -> None:
    w, sb = desk.window, desk.sandbox
    owed = rows_needing(desk, "Create invoice")
    rows = owed[-7:-4]
    ids = [row_id(desk, r) for r in rows]
    select_rows(desk, rows)
    sb.inject("invoicing", "latency", count=1, delay=1.0)  # the first one is slow to answer
    w.create_invoice_action.trigger()
    assert "Create 3 invoices" in answer(qtbot, w)
    progress = w.bulk_progress
    assert progress is not None and progress.isVisible() and not progress.isModal()
    qtbot.waitUntil(lambda: w.controller.is_busy(("jumpseller", login(desk), ids[0])), timeout=WAIT)
    progress.canceled.emit()  # what its Cancel button sends, while the first request is out

    summary = wait_bulk_done(qtbot, desk)
    assert summary == "Stopped: 1 invoiced; 2 not started (cancelled)."
    assert [made_for(sb, login(desk), i) for i in ids] == [1, 0, 0]
    assert w.message_bar.kind == "error"


def test_dont_ask_again_skips_the_question_next_time(qtbot, qrun, shop: Shop, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    desk = _open(qtbot, qrun, shop, tmp_path / "data", settings=settings)
    try:
        w, sb = desk.window, desk.sandbox
        owed = rows_needing(desk, "Create invoice")
        first, second = row_id(desk, owed[-9]), row_id(desk, owed[-10])
        assert w.select_record("jumpseller", login(desk), first)
        with qtbot.waitSignal(w.controller.actionFinished, timeout=WAIT):
            w.create_invoice_action.trigger()
            asked = answer(qtbot, w, dont_ask_again=True)
        assert asked.startswith(f"Create an invoice for order {first} (")
        assert settings.value("confirm/skip/invoice", type=bool) is True

        assert w.select_record("jumpseller", login(desk), second)
        with qtbot.waitSignal(w.controller.actionFinished, timeout=WAIT) as done:
            w.create_invoice_action.trigger()
            assert w.confirm_box is None  # not asked again
        assert done.args[0].kind == "success"
        assert [made_for(sb, login(desk), i) for i in (first, second)] == [1, 1]
        # Another kind still asks.
        assert w._asks("credit_note") and not w._asks("invoice")
    finally:
        close_desk(qrun, desk)


def test_after_a_failed_try_create_invoice_asks_again_with_the_services_words(
    qtbot, qrun, shop: Shop, tmp_path: Path
) -> None:
    """"Don't ask again" was ticked, but the last try failed: the next one is not sent
    blindly, the question quotes what came back."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("confirm/skip/invoice", True)
    desk = _open(qtbot, qrun, shop, tmp_path / "data", settings=settings)
    try:
        w, sb = desk.window, desk.sandbox
        order = row_id(desk, rows_needing(desk, "Create invoice")[-11])
        assert w.select_record("jumpseller", login(desk), order)
        sb.inject("invoicing", "429", count=20)
        with qtbot.waitSignal(w.controller.actionFinished, timeout=WAIT) as first:
            w.create_invoice_action.trigger()  # not asked: "Don't ask again"
        sb.clear_faults("invoicing")
        assert first.args[0].kind == "error"
        assert desk.cache.journal("jumpseller", login(desk), order)[-1].state == "failed"
        assert made_for(sb, login(desk), order) == 0

        w.create_invoice_action.trigger()
        assert w.confirm_box is not None
        with qtbot.waitSignal(w.controller.actionFinished, timeout=WAIT) as second:
            asked = answer(qtbot, w)
        assert asked.startswith("The last Create Invoice for it did not go through: ")
        assert second.args[0].kind == "success"
        assert made_for(sb, login(desk), order) == 1
    finally:
        close_desk(qrun, desk)


def test_invoice_all_pending_invoices_every_owed_order_once(qtbot, qrun, tmp_path: Path) -> None:
    from tests.store_helpers import paid_orders

    own = _shop(tmp_path / "synced", seed=9, orders=40)
    desk = _open(qtbot, qrun, own, tmp_path / "data")
    try:
        w, sb = desk.window, desk.sandbox
        owed = [row_id(desk, r) for r in rows_needing(desk, "Create invoice")]
        refused = [row_id(desk, r) for r in rows_needing(desk, "Tax ID missing")]
        assert len(owed) >= 3 and refused
        assert w.invoice_all_action.isEnabled()

        w.invoice_all_action.trigger()
        asked = answer(qtbot, w)
        assert asked.startswith(f"Create {len(owed)} invoices for {login(desk)}, total ")
        assert f"pending order{'s are' if len(refused) > 1 else ' is'} skipped" in asked
        assert f"{refused[0]} (Tax ID missing)" in asked
        assert wait_bulk_done(qtbot, desk) == f"{len(owed)} invoiced."

        assert {i: made_for(sb, login(desk), i) for i in owed} == dict.fromkeys(owed, 1)
        assert all(made_for(sb, login(desk), i) == 0 for i in refused)
        assert not paid_orders(sb, login(desk))  # every order the service accepts has its invoice
        assert rows_needing(desk, "Create invoice") == []

        # Again: nothing is owed, so nothing is asked and nothing is sent.
        w.invoice_all_action.trigger()
        assert w.confirm_box is None and w.bulk_runner is None
        assert w.message_bar.text().startswith("Nothing to do:")
        assert all(made_for(sb, login(desk), i) == 1 for i in owed)
    finally:
        close_desk(qrun, desk)
        own.sandbox.stop()


def test_two_click_and_collect_invoices_are_marked_ready_after_one_question(qtbot, desk: Desk) -> None:
    w, sb = desk.window, desk.sandbox
    rows = rows_needing(desk, "Mark ready")[:2]
    assert len(rows) == 2, "the shop needs two paid Click and Collect invoices"
    ids = [row_id(desk, r) for r in rows]
    select_rows(desk, rows)
    assert w.mark_ready_action.isEnabled() and not w.create_invoice_action.isEnabled()
    assert not w.mark_sent_action.isEnabled() and "one invoice at a time" in w.mark_sent_action.toolTip()

    w.mark_ready_action.trigger()
    assert answer(qtbot, w).startswith("Mark 2 invoices ready for collection for ")
    assert wait_bulk_done(qtbot, desk) == "2 marked ready."
    seller = sb.sellers[0].name
    states = {i["id"]: i["attributes"]["status"] for i in sb.truth_invoices(seller)}
    assert [states[i] for i in ids] == ["ready", "ready"]


def _watch_needs_action(w) -> list[tuple[str, str]]:
    """Every (order id, Needs action text) the list shows after each reset or change."""
    seen: list[tuple[str, str]] = []

    def look() -> None:
        model = w.model
        for r in range(model.rowCount()):
            s = model.summary(r)
            if s is not None and s.source is Source.JUMPSELLER:
                seen.append((s.id, str(model.data(model.index(r, Column.NEEDS_ACTION)))))

    w.model.modelReset.connect(look)
    w.model.dataChanged.connect(lambda *_: look())
    return seen


def _slow_first_sync(qtbot, qrun, tmp_path: Path, shapes: set[str], *, until):
    """(orders with an invoice, every Needs action text seen during the sync, the texts after)."""
    sb = Sandbox(seed=4, orders=30, invoices=2, stores=1, sellers=1, rate_limits=False, shapes=shapes)
    sb.start()
    desk = make_desk(sb, tmp_path / "data", sync_on_start=False)
    w = desk.window
    try:
        w.show()
        qtbot.waitExposed(w)
        store = sb.stores[0].login
        invoiced = {str(oid) for oid, docs in sb.truth_documents(store).items() if docs}
        sb.inject("jumpseller", "latency", delay=0.3)  # every request slow: the sync takes seconds
        seen = _watch_needs_action(w)
        with qtbot.waitSignal(w.controller.syncFinished, timeout=60_000):
            w.start_sync()
            qtbot.waitUntil(lambda: until(seen), timeout=30_000)  # seen while the sync still runs
            sb.clear_faults("jumpseller")
        final = [(s.id, str(w.model.data(w.model.index(r, Column.NEEDS_ACTION))))
                 for r in range(w.model.rowCount())
                 if (s := w.model.summary(r)) is not None and s.source is Source.JUMPSELLER]
        return invoiced, seen, final
    finally:
        close_desk(qrun, desk)
        sb.stop()


def test_during_the_first_sync_an_invoiced_order_never_offers_create_invoice(
    qtbot, qrun, tmp_path: Path
) -> None:
    """The listing of documents is read before the orders are stored: each order reaches the
    list with its invoice already known, so an invoiced order never offers another."""
    invoiced, seen, final = _slow_first_sync(qtbot, qrun, tmp_path, set(), until=bool)
    assert invoiced and seen
    assert not [i for i, text in seen + final if i in invoiced and text == "Create invoice"]
    assert {i for i, _t in final} >= invoiced
    assert "Checking…" not in {text for _i, text in final}


def test_when_the_listing_is_refused_unread_orders_say_checking_while_the_sync_reads_them(
    qtbot, qrun, tmp_path: Path
) -> None:
    """Without the listing, orders are stored before their documents are read one by one:
    meanwhile they read "Checking…", never "Create invoice", and nothing is left so."""
    invoiced, seen, final = _slow_first_sync(
        qtbot, qrun, tmp_path, {"documents_listing_refused"},
        until=lambda seen: any(text == "Checking…" for _i, text in seen))
    assert invoiced
    assert not [i for i, text in seen + final if i in invoiced and text == "Create invoice"]
    assert len(final) == 30
    assert "Checking…" not in {text for _i, text in final}
    assert {i for i, text in final if text == "Create invoice"}.isdisjoint(invoiced)


def test_an_order_not_checked_yet_reads_checking_while_a_sync_runs(qtbot, tmp_path: Path) -> None:
    sb = Sandbox(seed=3, orders=12, invoices=2, stores=1, sellers=1, rate_limits=False)
    sb.start()
    cache = Cache.open(tmp_path / "data")
    try:
        store = sb.stores[0].login
        paid = next(o for o in sb.truth_orders(store) if o["order"]["status_enum"] == "paid")
        cache.upsert([parse_order(paid, account=store)])  # from a listing: documents not read
        model = RecordsModel(cache, locale="en_US")
        model.set_query(Query())
        index = model.index(0, Column.NEEDS_ACTION)
        assert model.data(index) == "Invoice not checked yet"
        with qtbot.waitSignal(model.dataChanged):
            model.set_syncing(True)
        assert model.data(index) == "Checking…"
        model.set_syncing(False)
        assert model.data(index) == "Invoice not checked yet"
    finally:
        cache.close()
        sb.stop()


# ----------------------------------------------------------------------------- the words, without a window


def _order(rid: str, total: str, *, account: str = "demo-store", needs: str = "invoice", **kw: Any) -> Summary:
    return Summary(
        Source.JUMPSELLER, account, rid, customer=kw.get("customer", ""), total=Decimal(total),
        currency=kw.get("currency", "CLP"), status="paid", needs_action=needs,
    )


def test_the_question_names_the_work_the_total_and_each_skipped_order_with_its_reason() -> None:
    plan = make_plan(
        "invoice",
        [
            (_order("1301", "1000000"), None),
            (_order("1302", "5000", needs="tax_id_missing"), "Tax ID missing: order 1302 is billed to a business"),
            (_order("1303", "234567"), None),
            (_order("1310", "990", needs=""), "Already invoiced: INV-7."),
            (_order("1301", "1000000"), None),  # selected twice: counted once
        ],
    )
    assert [s.id for s in plan.todo] == ["1301", "1303"]
    assert confirmation_text(plan, "es_CL") == (
        "Create 2 invoices for demo-store, total $1.234.567; 2 selected orders are skipped: "
        "1302 (Tax ID missing), 1310 (already invoiced: INV-7)."
    )


def test_totals_per_currency_several_accounts_and_a_long_skip_list() -> None:
    todo = [_order("1", "10", currency="USD", account="a"), _order("2", "2000", account="b")]
    skipped = [Skipped(_order(str(100 + i), "1"), "pending payment") for i in range(11)]
    text = confirmation_text(BulkPlan("invoice", tuple(todo), tuple(skipped)), "en_US")
    assert text.startswith("Create 2 invoices for 2 accounts (a, b), total CLP")
    assert "and $10.00" in text
    assert "11 selected orders are skipped: 100 (pending payment)" in text
    assert text.endswith("107 (pending payment) and 3 more.")
    nothing = confirmation_text(BulkPlan("mark_ready", (), ()), "en_US")
    assert nothing == "Nothing to do: no record allows it."


def test_short_reasons_keep_what_staff_need() -> None:
    s = _order("1310", "1", needs="")
    assert short_reason(s, "Order 1310 is Pending payment: only paid orders are invoiced.") == "pending payment"
    assert short_reason(s, "Already invoiced: INV-7.") == "already invoiced: INV-7"
    assert short_reason(_order("9", "1", needs="check_documents"), "Order 9 carries …") == "Check attached documents"
    mp = Summary(Source.MARKETPLACER, "seller", "77", status="paid", needs_action="")
    assert short_reason(mp, "Only Click and Collect invoices can be marked ready; this one is Buy Online.") == (
        "only Click and Collect invoices can be marked ready; this one is Buy Online"
    )


def test_the_summary_counts_each_ending_and_names_the_failures() -> None:
    a, b, c, d = (_order(str(i), "1") for i in (1, 2, 3, 4))
    result = BulkResult("invoice", 4, done=[a], failed=[(b, "Customer tax ID is required")],
                        unknown=[(c, "timeout")], not_started=[d], cancelled=True)
    assert result_text(result) == (
        "Stopped: 1 invoiced; 1 failed: 2 (Customer tax ID is required); "
        "1 with an unknown outcome (check them at the service): 3; 1 not started (cancelled)."
    )
    assert not result.ok
    ready = BulkResult("mark_ready", 2, done=[a, b])
    assert result_text(ready) == "2 marked ready." and ready.ok


def test_one_question_per_single_action() -> None:
    s = _order("1001", "12990", customer="Ana Pérez")
    assert question("invoice", s, "es_CL") == "Create an invoice for order 1001 (Ana Pérez, $12.990) at demo-store?"
    inv = Summary(Source.MARKETPLACER, "seller", "77", customer="Bo", total=Decimal("5"), currency="AUD")
    assert question("mark_ready", inv, "en_AU") == "Mark invoice 77 (Bo, $5.00) ready for collection at seller?"


def test_the_end_of_a_sync_shows_rows_read_on_the_counting_thread(qtbot, qrun, tmp_path: Path) -> None:
    """The list's new rows are read before the sync's end is shown, off the GUI thread: the
    end only shows them, and the list holds every record the moment syncFinished arrives."""
    sb = Sandbox(seed=6, orders=25, invoices=15, stores=1, sellers=1, rate_limits=False)
    sb.start()
    desk = make_desk(sb, tmp_path / "data", sync_on_start=False)
    w = desk.window
    reads_on_gui_thread: list[int] = []
    real_refresh = w.model.refresh
    w.model.refresh = lambda: (reads_on_gui_thread.append(1), real_refresh())[1]  # type: ignore[method-assign]
    try:
        w.show()
        qtbot.waitExposed(w)
        seen: list[int] = []
        w.controller.syncFinished.connect(lambda _r: seen.append(w.model.rowCount()))
        with qtbot.waitSignal(w.controller.syncFinished, timeout=60_000):
            w.start_sync()
        assert seen == [40]
        assert reads_on_gui_thread == []
    finally:
        close_desk(qrun, desk)
        sb.stop()
