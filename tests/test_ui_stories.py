"""What staff do in the window, told as their stories, against the sandbox over real HTTP.

One small shop (one store, one seller) is synced once per module; each story opens its own
window over a private copy of that cache and acts on records no other story touches.
Stories that need a sync of their own (finding an order, an offline start) get a sandbox of
their own.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from invoicedesk.domain import Invoice, Order
from invoicedesk.sandbox import Sandbox
from invoicedesk.ui.controller import ActionReport
from invoicedesk.ui.records_model import Column
from tests.ui_helpers import Desk, answer, close_desk, copy_cache, make_desk, sync_in_thread

SHOP = {"seed": 2, "orders": 45, "invoices": 40, "stores": 1, "sellers": 1, "rate_limits": False}
WAIT = 15_000


# ----------------------------------------------------------------------------- the shop


@dataclass
class Shop:
    sandbox: Any
    synced: Path  # folder holding the cache after the first sync

    @property
    def login(self) -> str:
        return str(self.sandbox.stores[0].login)

    @property
    def seller(self) -> str:
        return str(self.sandbox.sellers[0].name)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    sb = Sandbox(**SHOP)
    sb.start()
    folder = tmp_path_factory.mktemp("shop")
    sync_in_thread(sb, folder)
    yield Shop(sb, folder)
    sb.stop()


def _open(qtbot, qrun, sb: Any, folder: Path, *, sync_on_start: bool, **kw: Any) -> Desk:
    desk = make_desk(sb, folder, sync_on_start=sync_on_start, **kw)
    # Not qtbot.addWidget: pytest-qt closes and deletes its widgets in its own teardown hook,
    # before fixtures finish, so the window could vanish while ``_close`` awaits its shutdown.
    desk.window.show()
    qtbot.waitExposed(desk.window)
    desk.window.start()  # as the app does once the window shows
    return desk




@pytest.fixture
def desk(qtbot, qrun, shop: Shop, tmp_path: Path) -> Iterator[Desk]:
    """The window over a private copy of the synced shop, connections checked, no sync."""
    d = _open(qtbot, qrun, shop.sandbox, copy_cache(shop.synced, tmp_path / "data"), sync_on_start=False)
    qrun(d.window.ready())
    yield d
    close_desk(qrun, d)


# ----------------------------------------------------------------------------- finding records


def orders(sb: Any, login: str) -> list[dict[str, Any]]:
    return [b["order"] for b in sb.truth_orders(login)]


def company(o: dict[str, Any]) -> str:
    for place in (o.get("billing_address"), o.get("customer"), o.get("billing_information")):
        if isinstance(place, dict):
            for key in ("company", "company_name"):
                if isinstance(place.get(key), str) and place[key].strip():
                    return str(place[key])
    return ""


def uninvoiced_paid(sb: Any, login: str, *, business: bool) -> list[int]:
    docs = sb.truth_documents(login)
    return [
        o["id"]
        for o in orders(sb, login)
        if o["status_enum"] == "paid"
        and not docs.get(o["id"])
        and bool(company(o)) == business
        and not (business and (o.get("billing_address") or {}).get("taxid"))
    ]


def invoices(sb: Any, seller: str, status: str, delivery: str) -> list[str]:
    return [
        i["id"]
        for i in sb.truth_invoices(seller)
        if i["attributes"]["status"] == status and i["attributes"]["delivery_type"] == delivery
    ]


def created_for(sb: Any, login: str, order_id: int) -> list[dict[str, Any]]:
    return [d for d in sb.invoices_created(login) if d["order_id"] == order_id]


def select(desk: Desk, source: str, account: str, record_id: object) -> None:
    assert desk.window.select_record(source, account, str(record_id)), (source, account, record_id)
    rec = desk.window.selected_record
    assert rec is not None and str(rec.id) == str(record_id)


def click(qtbot, desk: Desk, action: Any) -> None:
    button = desk.window.button_for(action)
    assert button is not None and button.isEnabled(), action.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def act(qtbot, desk: Desk, action: Any) -> ActionReport:
    """Click an action's toolbar button, say yes when it asks, and wait for its outcome."""
    with qtbot.waitSignal(desk.window.controller.actionFinished, timeout=WAIT) as blocker:
        click(qtbot, desk, action)
        if action in desk.window.action_buttons.values():  # a change at a service: asked first
            answer(qtbot, desk.window)
    report = blocker.args[0]
    assert isinstance(report, ActionReport)
    return report


def row_text(desk: Desk, key: tuple[str, str, str], column: Column) -> str:
    model = desk.window.model
    row = model.row_of_key(key)
    assert row is not None
    return str(model.data(model.index(row, column)))


# ----------------------------------------------------------------------------- stories


def test_staff_syncs_and_finds_an_order_by_the_customers_email(qtbot, qrun, tmp_path: Path) -> None:
    with Sandbox(seed=4, orders=20, invoices=20, stores=1, sellers=1, rate_limits=False) as sb:
        desk = _open(qtbot, qrun, sb, tmp_path / "fresh", sync_on_start=True)
        w = desk.window
        try:
            assert w.model.rowCount() == 0  # a fresh cache: nothing to show before the first sync
            qtbot.waitUntil(
                lambda: w.sync_progress.isVisible() and w.cancel_sync_button.isVisible(), timeout=WAIT
            )
            qrun(w.ready(), timeout=WAIT * 2)
            assert not w.sync_progress.isVisible()
            assert w.model.total_count() == desk.cache.count() > 30
            assert "Online" in w.online_indicator.text()
            assert (
                "Last synced" in w.last_synced_label.toolTip()
                and "never" not in w.last_synced_label.toolTip()
            )

            target = next(o for o in orders(sb, desk.login) if o["customer"]["email"])
            email = target["customer"]["email"]
            w.activateWindow()
            qtbot.waitUntil(w.isActiveWindow)
            qtbot.keyClick(w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
            assert w.filter_bar.search_edit.hasFocus()
            qtbot.keyClicks(w.filter_bar.search_edit, email)
            qtbot.waitUntil(lambda: w.model.query.search == email, timeout=2000)
            found = {(w.model.summary(r).id, w.model.summary(r).email) for r in range(w.model.rowCount())}
            assert (str(target["id"]), email) in found
            assert all(e == email for _i, e in found)
            assert "of" in w.count_label.text()

            # Enter on the selected row takes the keyboard to its details.
            select(desk, "jumpseller", desk.login, target["id"])
            w.table.setFocus()
            qtbot.keyClick(w.table, Qt.Key.Key_Return)
            assert w.detail.isAncestorOf(QApplication.focusWidget()) or w.detail.hasFocus()
            assert isinstance(w.detail.record, Order) and w.detail.record.id == target["id"]

            # The selection survives a sync that brings new records (the list is rebuilt).
            w.filter_bar.search_edit.clear()
            qtbot.waitUntil(lambda: w.model.query.search == "", timeout=2000)
            select(desk, "jumpseller", desk.login, target["id"])
            resets: list[int] = []
            w.model.modelReset.connect(lambda: resets.append(1))
            sb.advance(hours=48)
            with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT * 2):
                qtbot.keyClick(w, Qt.Key.Key_F5)
            assert resets, "new orders should have rebuilt the list"
            assert w.selected_record is not None and w.selected_record.id == target["id"]
            current = w.table.selectionModel().currentIndex()
            assert w.model.summary(current.row()).id == str(target["id"])
        finally:
            close_desk(qrun, desk)


def test_staff_creates_an_invoice_in_one_click_and_sees_its_link(qtbot, desk: Desk) -> None:
    w = desk.window
    order_id = uninvoiced_paid(desk.sandbox, desk.login, business=False)[0]
    key = ("jumpseller", desk.login, str(order_id))
    select(desk, *key)
    assert row_text(desk, key, Column.NEEDS_ACTION) == "Create invoice"
    resets: list[int] = []
    w.model.modelReset.connect(lambda: resets.append(1))

    report = act(qtbot, desk, w.create_invoice_action)

    made = created_for(desk.sandbox, desk.login, order_id)
    assert len(made) == 1
    public_id, url = made[0]["public_id"], made[0]["url"]
    assert report.kind == "success"
    assert public_id in w.message_bar.text() and url in w.message_bar.text()
    assert (f"Open {public_id}", url) in w.message_bar.links()
    # The row changed in place: same place in the list, now showing its invoice.
    assert not resets
    assert row_text(desk, key, Column.INVOICE) == public_id
    assert row_text(desk, key, Column.NEEDS_ACTION) == ""
    assert not w.create_invoice_action.isEnabled()
    assert public_id in w.create_invoice_action.toolTip()
    assert isinstance(w.detail.record, Order) and w.detail.record.invoice is not None


def test_a_business_without_tax_id_says_so_in_the_list_and_create_invoice_explains(
    qtbot, desk: Desk
) -> None:
    """The invoicing service refuses a business without a tax ID: the list says "Tax ID
    missing" (not "Create invoice"), and Create Invoice is off with the reason, nothing sent."""
    w = desk.window
    business = uninvoiced_paid(desk.sandbox, desk.login, business=True)
    assert business, "the shop needs a business customer without tax ID"
    order_id = business[0]
    key = ("jumpseller", desk.login, str(order_id))
    select(desk, *key)
    documents_before = desk.sandbox.truth_documents(desk.login).get(order_id, [])

    assert row_text(desk, key, Column.NEEDS_ACTION) == "Tax ID missing"
    assert not w.create_invoice_action.isEnabled()
    assert w.create_invoice_action.toolTip().startswith("Tax ID missing")
    assert "business" in w.create_invoice_action.toolTip()
    assert w.run_action("invoice") is None and w.confirm_box is None
    assert created_for(desk.sandbox, desk.login, order_id) == []
    assert desk.sandbox.truth_documents(desk.login).get(order_id, []) == documents_before
    assert row_text(desk, key, Column.INVOICE) == ""


def test_staff_marks_a_buy_online_invoice_sent_with_tracking(qtbot, desk: Desk) -> None:
    w = desk.window
    invoice_id = invoices(desk.sandbox, desk.seller, "paid", "buy_online")[0]
    key = ("marketplacer", desk.seller, invoice_id)
    select(desk, *key)
    click(qtbot, desk, w.mark_sent_action)
    dialog = w.mark_sent_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()

    qtbot.keyClicks(dialog.tracking_edit, "TRK123456AU")
    dialog.carrier_combo.setCurrentText("Australia Post")
    with qtbot.waitSignal(w.controller.actionFinished, timeout=WAIT) as blocker:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0].kind == "success", w.message_bar.text()

    truth = next(i for i in desk.sandbox.truth_invoices(desk.seller) if i["id"] == invoice_id)
    assert truth["attributes"]["status"] == "sent"
    assert "TRK123456AU" in str(truth["attributes"]["postage_tracking"])
    assert row_text(desk, key, Column.STATUS) == "Sent"
    assert f"Invoice {invoice_id} marked sent." in w.message_bar.text()
    assert not w.mark_sent_action.isEnabled() and "already" in w.mark_sent_action.toolTip()


def test_staff_marks_a_click_and_collect_invoice_ready_then_collected(qtbot, desk: Desk) -> None:
    w = desk.window
    invoice_id = invoices(desk.sandbox, desk.seller, "paid", "click_and_collect")[0]
    key = ("marketplacer", desk.seller, invoice_id)
    select(desk, *key)
    assert not w.mark_collected_action.isEnabled()
    assert "mark it ready before marking it collected" in w.mark_collected_action.toolTip()

    assert act(qtbot, desk, w.mark_ready_action).kind == "success"
    assert row_text(desk, key, Column.STATUS) == "Ready"
    assert row_text(desk, key, Column.NEEDS_ACTION) == "Mark collected"
    assert not w.mark_ready_action.isEnabled()

    assert act(qtbot, desk, w.mark_collected_action).kind == "success"
    assert row_text(desk, key, Column.STATUS) == "Collected"
    truth = next(i for i in desk.sandbox.truth_invoices(desk.seller) if i["id"] == invoice_id)
    assert truth["attributes"]["status"] == "collected"
    assert not any(a.isEnabled() for a in w.action_buttons.values())


def test_buttons_for_the_wrong_delivery_type_are_off_and_say_why(qtbot, desk: Desk) -> None:
    w = desk.window
    buy_online = invoices(desk.sandbox, desk.seller, "paid", "buy_online")[-1]
    select(desk, "marketplacer", desk.seller, buy_online)
    assert w.mark_sent_action.isEnabled()
    for action, name in ((w.mark_ready_action, "ready"), (w.mark_collected_action, "collected")):
        assert not action.isEnabled()
        reason = f"Only Click and Collect invoices can be marked {name}; this one is Buy Online."
        assert action.toolTip() == reason
        assert w.button_for(action).toolTip() == reason  # what hovering the button shows
    assert "only Jumpseller orders are invoiced" in w.create_invoice_action.toolTip()

    collect = invoices(desk.sandbox, desk.seller, "paid", "click_and_collect")[-1]
    select(desk, "marketplacer", desk.seller, collect)
    assert not w.mark_sent_action.isEnabled()
    assert "Only Buy Online invoices can be marked sent" in w.mark_sent_action.toolTip()
    assert w.mark_ready_action.isEnabled()

    order_id = uninvoiced_paid(desk.sandbox, desk.login, business=False)[-1]
    select(desk, "jumpseller", desk.login, order_id)
    assert w.create_invoice_action.isEnabled()
    assert not w.mark_sent_action.isEnabled() and "invoiced, not marked" in w.mark_sent_action.toolTip()
    assert not w.credit_note_action.isEnabled() and "not cancelled" in w.credit_note_action.toolTip()


def test_a_double_click_on_create_invoice_makes_exactly_one_invoice(qtbot, desk: Desk) -> None:
    w = desk.window
    order_id = uninvoiced_paid(desk.sandbox, desk.login, business=False)[1]
    select(desk, "jumpseller", desk.login, order_id)
    # The invoicing service answers slowly, so every extra click lands while the first runs.
    desk.sandbox.inject("invoicing", "latency", count=1, delay=0.5)
    button = w.button_for(w.create_invoice_action)
    finished: list[ActionReport] = []
    w.controller.actionFinished.connect(finished.append)

    qtbot.mouseDClick(button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # asks once: a second click replaces the box
    answer(qtbot, w)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    w.create_invoice_action.trigger()
    assert w.run_action("invoice") is None  # refused while the first one runs
    assert not w.create_invoice_action.isEnabled()
    assert "running" in w.create_invoice_action.toolTip()

    qtbot.waitUntil(lambda: len(finished) >= 1, timeout=WAIT)
    assert [r.kind for r in finished] == ["success"]
    assert len(created_for(desk.sandbox, desk.login, order_id)) == 1


def test_offline_start_shows_the_cache_and_turns_network_actions_off(
    qtbot, qrun, shop: Shop, tmp_path: Path
) -> None:
    # A sandbox that has stopped answering: same accounts, nobody listening any more.
    gone = Sandbox(**SHOP)
    gone.start()
    gone.stop()
    desk = _open(qtbot, qrun, gone, copy_cache(shop.synced, tmp_path / "data"), sync_on_start=True)
    w = desk.window
    try:
        assert w.model.rowCount() > 0  # the cache is on screen before the network answers
        qrun(w.ready(), timeout=WAIT * 3)
        assert "Offline" in w.online_indicator.text()
        assert w.message_bar.kind == "error" and "Could not sync" in w.message_bar.text()
        assert w.model.total_count() == desk.cache.count() > 0
        order_id = uninvoiced_paid(shop.sandbox, shop.login, business=False)[-1]
        select(desk, "jumpseller", shop.login, order_id)
        assert isinstance(w.detail.record, Order)  # details still readable offline
        assert not w.create_invoice_action.isEnabled()
        assert "cannot be reached" in w.create_invoice_action.toolTip()
        invoice_id = invoices(shop.sandbox, shop.seller, "paid", "click_and_collect")[-1]
        select(desk, "marketplacer", shop.seller, invoice_id)
        assert isinstance(w.detail.record, Invoice)
        assert not w.mark_ready_action.isEnabled() and "cannot be reached" in w.mark_ready_action.toolTip()
        assert w.sync_action.isEnabled()  # trying again is always possible
    finally:
        close_desk(qrun, desk)


def test_staff_cancels_a_slow_sync_and_keeps_what_arrived(qtbot, qrun, tmp_path: Path) -> None:
    with Sandbox(seed=6, orders=20, invoices=40, stores=1, sellers=1, rate_limits=False) as sb:
        sb.inject("jumpseller", "latency", delay=0.3)  # the store answers slowly today
        desk = _open(qtbot, qrun, sb, tmp_path / "fresh", sync_on_start=False)
        w = desk.window
        try:
            qrun(w.ready())
            with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT) as finished:
                qtbot.keyClick(w, Qt.Key.Key_F5)
                assert w.cancel_sync_button.isVisible() and not w.sync_action.isEnabled()
                # The marketplace is quick: its invoices arrive while the store still loads.
                qtbot.waitUntil(lambda: desk.cache.count() > 0, timeout=WAIT)
                qtbot.mouseClick(w.cancel_sync_button, Qt.MouseButton.LeftButton)
            assert finished.args[0] == []
            assert not w.sync_progress.isVisible() and not w.cancel_sync_button.isVisible()
            assert "cancelled" in w.statusBar().currentMessage()
            kept = desk.cache.count()
            assert kept > 0 and w.model.total_count() == kept
            assert w.sync_action.isEnabled()

            sb.clear_faults()
            with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT * 2) as again:
                w.sync_action.trigger()
            assert again.args[0] and all(r.ok for r in again.args[0])
            assert desk.cache.count() > kept
        finally:
            close_desk(qrun, desk)


def test_staff_copies_rows_and_exports_the_whole_view(qtbot, qrun, desk: Desk, tmp_path: Path) -> None:
    w = desk.window
    w.filter_bar.account_combo.setCurrentIndex(w.filter_bar.account_combo.findData("marketplacer:"))
    assert w.model.query.source == "marketplacer"
    w.table.selectRow(0)
    w.table.selectionModel().select(
        w.model.index(1, 0),
        w.table.selectionModel().SelectionFlag.Select | w.table.selectionModel().SelectionFlag.Rows,
    )
    w.table.setFocus()
    qtbot.keyClick(w.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    copied = QGuiApplication.clipboard().text().splitlines()
    assert len(copied) == 2
    assert copied[0].split("\t") == list(w.model.texts(0))

    # Export writes every matching record, not only the rows loaded so far.
    w.model._page = 5  # a small page so the view has loaded only part of the query
    w.model.set_query(w.model.query)
    assert w.model.rowCount() < w.model.total_count()
    target = tmp_path / "export.csv"
    task = w.export_csv(target)
    qtbot.waitUntil(task.done, timeout=WAIT)
    count = task.result()
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark spreadsheets look for
    with target.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert count == len(rows) == desk.cache.count(w.model.query)
    assert {r["source"] for r in rows} == {"marketplacer"}
    assert "Exported" in w.message_bar.text()


def test_the_window_remembers_its_layout_and_sort(qtbot, qrun, shop: Shop, tmp_path: Path) -> None:
    ini = str(tmp_path / "window.ini")
    first = _open(
        qtbot,
        qrun,
        shop.sandbox,
        copy_cache(shop.synced, tmp_path / "a"),
        sync_on_start=False,
        settings=QSettings(ini, QSettings.Format.IniFormat),
    )
    first.window.table.setColumnWidth(Column.CUSTOMER, 333)
    first.window.table.sortByColumn(Column.TOTAL, Qt.SortOrder.AscendingOrder)
    first.window.splitter.setSizes([900, 380])
    first.window.close()
    close_desk(qrun, first)

    second = _open(
        qtbot,
        qrun,
        shop.sandbox,
        copy_cache(shop.synced, tmp_path / "b"),
        sync_on_start=False,
        settings=QSettings(ini, QSettings.Format.IniFormat),
    )
    try:
        w = second.window
        assert w.table.columnWidth(Column.CUSTOMER) == 333
        assert w.model.sort_column == Column.TOTAL and not w.model.descending
        # Totals sort within their currency: currency first, then the amount.
        totals = [(w.model.summary(r).currency, w.model.summary(r).total) for r in range(w.model.rowCount())]
        known = [t for t in totals if t[1] is not None]
        assert known == sorted(known)
        assert w.splitter.sizes()[0] > w.splitter.sizes()[1]
    finally:
        close_desk(qrun, second)


def test_an_invoice_made_just_before_a_crash_is_attached_when_the_window_starts(
    qtbot, qrun, shop: Shop, tmp_path: Path
) -> None:
    """The invoicing service answered, then InvoiceDesk died before attaching: the next start
    attaches that invoice (never invoicing twice) before anything else."""
    folder = copy_cache(shop.synced, tmp_path / "data")
    order_id = uninvoiced_paid(shop.sandbox, shop.login, business=False)[2]
    desk = make_desk(shop.sandbox, folder, sync_on_start=False)
    qtbot.addWidget(desk.window)
    try:
        order = desk.cache.get_order(shop.login, str(order_id))
        assert order is not None
        made = qrun(desk.services.invoicing(shop.login).create_invoice(order))
        entry = desk.cache.journal_begin(
            "jumpseller", shop.login, str(order_id), "invoice", {"kind": "invoice"}
        )
        desk.cache.journal_update(
            entry, state="invoiced", step="attach", result={"public_id": made.public_id, "url": made.url}
        )
        key = ("jumpseller", shop.login, str(order_id))
        w = desk.window
        w.show()
        w.start()
        qrun(w.ready())
        attached = [d["public_id"] for d in shop.sandbox.truth_documents(shop.login).get(order_id, [])]
        assert attached == [made.public_id]
        assert len(created_for(shop.sandbox, shop.login, order_id)) == 1
        assert row_text(desk, key, Column.INVOICE) == made.public_id
        assert desk.cache.journal(*key)[-1].state == "done"
    finally:
        close_desk(qrun, desk)


def test_ctrl_i_creates_the_invoice_of_the_selected_order(qtbot, desk: Desk) -> None:
    w = desk.window
    order_id = uninvoiced_paid(desk.sandbox, desk.login, business=False)[3]
    select(desk, "jumpseller", desk.login, order_id)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    w.table.setFocus()
    with qtbot.waitSignal(w.controller.actionFinished, timeout=WAIT) as done:
        qtbot.keyClick(w.table, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
        assert "Create an invoice for order" in answer(qtbot, w)
    assert done.args[0].kind == "success"
    assert len(created_for(desk.sandbox, desk.login, order_id)) == 1


def test_saved_accounts_take_effect_without_a_restart(qtbot, qrun, desk: Desk) -> None:
    from dataclasses import replace

    w = desk.window
    w.open_accounts()
    dialog = w.accounts_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    only_store = replace(desk.services.config, marketplacer=())
    with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT * 2) as synced:
        dialog.saved.emit(only_store)
    assert [r.account for r in synced.args[0]] == [desk.login]
    assert [s.name for s in w.controller.states()] == [desk.login]
    assert w.filter_bar.account_combo.findData("marketplacer:") == -1
    assert w.services.config == only_store
    assert "Accounts saved" in w.message_bar.text()


def test_auto_sync_follows_the_configured_interval(qtbot, qrun, shop: Shop, tmp_path: Path) -> None:
    from dataclasses import replace

    desk = make_desk(shop.sandbox, copy_cache(shop.synced, tmp_path / "data"), sync_on_start=False)
    qtbot.addWidget(desk.window)
    try:
        timer = desk.window.controller.auto_timer
        assert timer.isActive() and timer.interval() == 5 * 60_000  # every 5 minutes by default
        desk.window.controller.set_auto_sync(
            replace(desk.services.config, auto_sync_minutes=15).auto_sync_minutes
        )
        assert timer.isActive() and timer.interval() == 15 * 60_000
        with qtbot.waitSignal(desk.window.controller.syncFinished, timeout=WAIT * 2) as synced:
            timer.timeout.emit()  # as if 15 minutes went by
        assert synced.args[0] and all(r.ok for r in synced.args[0])
    finally:
        close_desk(qrun, desk)


# ----------------------------------------------------------------------------- never twice, never stuck


def test_an_unknown_outcome_is_checked_at_the_service_and_adopted(qtbot, desk: Desk) -> None:
    """The invoicing answer is lost: the window says so, offers "Check at the service", which
    first finds nothing attached (and says so), then adopts the invoice once it shows on the
    order; nothing is sent again."""
    from tests.store_helpers import attach_document

    w, sb = desk.window, desk.sandbox
    order_id = uninvoiced_paid(sb, desk.login, business=False)[-1]
    key = ("jumpseller", desk.login, str(order_id))
    select(desk, *key)
    assert not w.check_action.isVisible()
    sb.inject("invoicing", "drop", count=1)
    report = act(qtbot, desk, w.create_invoice_action)
    assert report.kind == "error" and "Check at the service" in report.message
    assert row_text(desk, key, Column.NEEDS_ACTION).startswith("Outcome unknown")
    assert w.check_action.isVisible() and w.retry_action.isVisible()
    assert not w.create_invoice_action.isEnabled()

    first = act(qtbot, desk, w.check_action)
    assert first.kind == "error" and "No invoice is attached" in first.message
    made = created_for(sb, desk.login, order_id)
    assert len(made) == 1
    attach_document(sb, desk.login, order_id, document_type="1 - invoice",
                    public_id=made[0]["public_id"], app_code=None)
    second = act(qtbot, desk, w.check_action)
    assert second.kind == "success" and made[0]["public_id"] in second.message
    assert not w.check_action.isVisible() and not w.retry_action.isVisible()
    assert row_text(desk, key, Column.INVOICE) == made[0]["public_id"]
    assert len(created_for(sb, desk.login, order_id)) == 1


def test_a_retry_after_an_unknown_outcome_names_the_risk_and_needs_a_yes(qtbot, desk: Desk) -> None:
    w, sb = desk.window, desk.sandbox
    order_id = uninvoiced_paid(sb, desk.login, business=False)[-2]
    select(desk, "jumpseller", desk.login, str(order_id))
    sb.inject("invoicing", "drop", count=1)
    act(qtbot, desk, w.create_invoice_action)
    assert w.retry_action.isVisible()

    click(qtbot, desk, w.retry_action)
    box = w.confirm_box
    assert box is not None and "second invoice" in box.text()
    box.reject()  # Cancel: nothing is sent
    qtbot.waitUntil(lambda: w.confirm_box is None)
    assert len(created_for(sb, desk.login, order_id)) == 1

    click(qtbot, desk, w.retry_action)
    box = w.confirm_box
    assert box is not None
    retry = next(b for b in box.buttons() if b.text() == "Retry anyway")
    with qtbot.waitSignal(w.controller.actionFinished, timeout=WAIT) as blocker:
        retry.click()
    assert blocker.args[0].kind == "success"
    # Staff accepted the named risk: the service made a second invoice, as the box warned.
    assert len(created_for(sb, desk.login, order_id)) == 2
    assert not w.retry_action.isVisible()


def test_credit_note_owed_without_an_endpoint_explains_on_the_disabled_button(qtbot, desk: Desk) -> None:
    from dataclasses import replace

    from tests.store_helpers import set_order_status

    w, sb = desk.window, desk.sandbox
    order_id = uninvoiced_paid(sb, desk.login, business=False)[-3]
    key = ("jumpseller", desk.login, str(order_id))
    select(desk, *key)
    assert act(qtbot, desk, w.create_invoice_action).kind == "success"
    config = desk.services.config
    desk.services.config = replace(
        config, jumpseller=tuple(replace(a, credit_note_url="") for a in config.jumpseller)
    )
    set_order_status(sb, desk.login, order_id, "canceled")
    with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT):
        w.start_sync(deep=True)
    select(desk, *key)
    assert row_text(desk, key, Column.NEEDS_ACTION) == "Credit note owed"
    assert not w.credit_note_action.isEnabled()
    tip = w.credit_note_action.toolTip()
    assert tip.startswith("Credit note owed.") and "credit note URL" in tip
    assert [d for d in sb.invoices_created(desk.login) if d["kind"] == "credit_note"] == []


def test_an_order_with_an_unreadable_document_asks_before_invoicing(qtbot, desk: Desk) -> None:
    from tests.store_helpers import attach_document

    w, sb = desk.window, desk.sandbox
    order_id = uninvoiced_paid(sb, desk.login, business=False)[-4]
    key = ("jumpseller", desk.login, str(order_id))
    attach_document(sb, desk.login, order_id, document_type="9 - receipt", public_id="RCPT-9", app_code="pos")
    select(desk, *key)
    report = act(qtbot, desk, w.create_invoice_action)
    assert report.needs_confirmation and "RCPT-9" in report.message and "pos" in report.message
    assert created_for(sb, desk.login, order_id) == []
    box = w.confirm_box
    assert box is not None and "RCPT-9" in box.text()
    go = next(b for b in box.buttons() if b.text() == "Create invoice")
    with qtbot.waitSignal(w.controller.actionFinished, timeout=WAIT) as blocker:
        go.click()
    assert blocker.args[0].kind == "success"
    assert len(created_for(sb, desk.login, order_id)) == 1


def test_esc_clears_the_search_then_returns_to_the_list_and_ctrl_q_quits(qtbot, qrun, shop: Shop, tmp_path: Path) -> None:
    desk = make_desk(shop.sandbox, copy_cache(shop.synced, tmp_path / "data"), sync_on_start=False)
    w = desk.window
    try:
        w.show()
        w.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
        search = w.filter_bar.search_edit
        search.setFocus()
        qtbot.keyClicks(search, "Sep")
        assert search.text() == "Sep"
        qtbot.keyClick(search, Qt.Key.Key_Escape)
        assert search.text() == ""
        qtbot.keyClick(search, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: w.table.hasFocus())
        qtbot.keyClick(w.table, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: not w.isVisible())
    finally:
        close_desk(qrun, desk)
