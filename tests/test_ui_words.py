"""Staff stories about the window's keys, messages, views and links, against the sandbox.

Keyboard: Tab walks filters → views → list → details and back to the search, and Help lists
every key. Messages: a record's message goes with the record, "Could not sync" goes with a good
sync, nothing moves the list, and what staff read names no endpoint or web address while
"Copy details" keeps them (never a token). Views: their counts match the cache. Links: a link
that no browser opens says so and offers the link to copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from invoicedesk.cache import Query
from invoicedesk.errors import InvoiceDeskError, staff_words, support_details
from invoicedesk.sandbox import Sandbox
from invoicedesk.sync import SyncResult
from invoicedesk.transport.policy import RequestPolicy, RetryConfig
from invoicedesk.ui.details.links import admin_link
from invoicedesk.ui.filter_bar import VIEWS
from tests.ui_helpers import Desk, answer, close_desk, copy_cache, make_desk, sync_in_thread

SHOP = {"seed": 3, "orders": 40, "invoices": 40, "stores": 1, "sellers": 1, "rate_limits": False}
WAIT = 20_000


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    sb = Sandbox(**SHOP)
    sb.start()
    folder = tmp_path_factory.mktemp("shop")
    sync_in_thread(sb, folder)
    yield sb, folder
    sb.stop()




@pytest.fixture
def desk(qtbot, qrun, shop: tuple[Any, Path], tmp_path: Path) -> Iterator[Desk]:
    sb, synced = shop
    sb.clear_faults()
    d = make_desk(sb, copy_cache(synced, tmp_path / "data"), sync_on_start=False)
    d.window.show()
    qtbot.waitExposed(d.window)
    d.window.start()
    qrun(d.window.ready())
    yield d
    sb.clear_faults()
    close_desk(qrun, d)


def _ids(desk: Desk, source: str, account: str) -> list[str]:
    return desk.cache.record_ids(source, account)


def _select(desk: Desk, source: str, account: str, record_id: str) -> None:
    assert desk.window.select_record(source, account, record_id)


def _focus(qtbot, widget: QWidget) -> None:
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=WAIT)


def _tab_walk(qtbot, start: QWidget, limit: int = 40) -> list[QWidget]:
    """The widgets Tab visits from ``start`` until it comes back to it."""
    seen: list[QWidget] = []
    for _ in range(limit):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        now = QApplication.focusWidget()
        if now is start:
            return seen
        seen.append(now)
    raise AssertionError(f"Tab never came back to the search: {[w.objectName() for w in seen]}")


# ----------------------------------------------------------------------------- keyboard


def test_tab_walks_filters_list_and_details_then_back_to_the_search(qtbot, desk: Desk) -> None:
    w = desk.window
    w.activateWindow()
    search = w.filter_bar.search_edit

    # Nothing to show: the empty details pane takes no Tab stop, the list hands on to the search.
    w.filter_bar.search_edit.setText("no-such-record-anywhere")
    qtbot.waitUntil(lambda: w.model.rowCount() == 0, timeout=WAIT)
    assert w.detail.record is None
    _focus(qtbot, search)
    walk = _tab_walk(qtbot, search)
    assert w.table in walk
    assert walk[-1] is w.table
    assert w.detail.scroll_area not in walk
    assert w.filter_bar.account_combo in walk and w.filter_bar.status_combo in walk
    assert walk.index(w.filter_bar.account_combo) < walk.index(w.table)
    assert all(b in walk for b in w.filter_bar.view_buttons.values()), [x.objectName() for x in walk]

    # A record shown: list → details → back to the search.
    w.filter_bar.search_edit.clear()
    qtbot.waitUntil(lambda: w.model.rowCount() > 0, timeout=WAIT)
    _select(desk, "jumpseller", desk.login, _ids(desk, "jumpseller", desk.login)[0])
    _focus(qtbot, search)
    walk = _tab_walk(qtbot, search)
    assert walk[-2:] == [w.table, w.detail.scroll_area]
    assert len(walk) == len(set(map(id, walk)))  # each stop once: no walk through the pane's texts


def test_help_lists_every_keyboard_shortcut_from_the_actions(qtbot, desk: Desk) -> None:
    w = desk.window
    assert w.shortcuts_action in w.help_menu.actions()
    w.shortcuts_action.trigger()
    dialog = w.shortcuts_dialog
    assert dialog is not None and dialog.isVisible()
    rows = dict((what, keys) for keys, what in dialog.rows())
    assert rows["Create Invoice"] == "Ctrl+I"
    assert rows["Sync"] == "F5"
    assert rows["Search"] == "Ctrl+F"
    assert rows["Quit InvoiceDesk"] == "Ctrl+Q"
    assert rows["Keyboard shortcuts"] == "F1"
    assert "Esc" in rows.values() and "Ctrl+Shift+O" in rows.values()
    # Read from the actions: a key given to an action shows up the next time.
    w.mark_sent_action.setShortcut("Ctrl+Shift+S")
    dialog = w.show_shortcuts()
    assert ("Ctrl+Shift+S", "Mark Sent") in dialog.rows()
    dialog.close()


def _keys(qtbot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """One key press where the keyboard is now, as staff's fingers would send it."""
    qtbot.keyClick(QApplication.focusWidget(), key, modifier)


def test_keyboard_only_find_open_invoice_next(qtbot, desk: Desk) -> None:
    """Find an order, read it, invoice it and go on to the next one without the mouse:
    Ctrl+F, type, Enter → the list at the match; Enter → its details; Ctrl+I → the question,
    Tab to its go button, Space; Esc → back to the list; Down → the next order."""
    w = desk.window
    sb = desk.sandbox
    owed = [r.summary.id for r in desk.cache.iter_all(Query(source="jumpseller", needs=("invoice",)))]
    target = owed[len(owed) // 2]  # not one the other stories here invoice (they share the shop)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    w.table.setFocus()

    # Find.
    _keys(qtbot, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is w.filter_bar.search_edit
    qtbot.keyClicks(w.filter_bar.search_edit, target)
    _keys(qtbot, Qt.Key.Key_Return)
    assert w.model.query.search == target
    assert QApplication.focusWidget() is w.table
    qtbot.waitUntil(lambda: w.selected_record is not None and str(w.selected_record.id) == target, timeout=WAIT)

    # Open: the details take the keyboard.
    _keys(qtbot, Qt.Key.Key_Return)
    assert w.detail.isAncestorOf(QApplication.focusWidget()) or w.detail.hasFocus()
    assert w.detail.record is not None and str(w.detail.record.id) == target

    # Invoice: the question comes with Cancel as its default; Tab reaches the go button.
    before = sum(1 for r in sb.invoices_created(desk.login) if str(r["order_id"]) == target)
    _keys(qtbot, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.confirm_box is not None and w.confirm_box.isVisible(), timeout=WAIT)
    box = w.confirm_box
    qtbot.waitUntil(box.isActiveWindow, timeout=WAIT)  # the question has the keyboard
    go = next(b for b in box.buttons() if box.buttonRole(b) == box.ButtonRole.AcceptRole)
    for _ in range(6):
        if QApplication.focusWidget() is go:
            break
        _keys(qtbot, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is go, "Tab never reached the question's go button"
    with qtbot.waitSignal(w.controller.actionFinished, timeout=WAIT) as done:
        _keys(qtbot, Qt.Key.Key_Space)
    assert done.args[0].kind == "success"
    made = [r for r in sb.invoices_created(desk.login) if str(r["order_id"]) == target]
    assert len(made) == before + 1 == 1

    # Next: Esc back to the list (the search is kept), Esc again in the search clears it,
    # and Down goes on to the next order.
    qtbot.waitUntil(lambda: w.confirm_box is None and QApplication.activeModalWidget() is None)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    _keys(qtbot, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is w.table
    _keys(qtbot, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    _keys(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: w.model.query.search == "", timeout=WAIT)
    _keys(qtbot, Qt.Key.Key_Down)
    assert QApplication.focusWidget() is w.table
    assert w.selected_record is not None and str(w.selected_record.id) == target  # kept, found again
    _keys(qtbot, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: w.selected_record is not None and str(w.selected_record.id) != target, timeout=WAIT)


# ----------------------------------------------------------------------------- messages


def _list_y(desk: Desk) -> int:
    w = desk.window
    return w.table.viewport().mapTo(w, w.table.viewport().rect().topLeft()).y()


def test_a_message_never_moves_the_list(qtbot, desk: Desk) -> None:
    w = desk.window
    before = _list_y(desk)
    w.message_bar.show_message("error", "Could not sync: " + "a long reason " * 40, condition="sync")
    qtbot.waitUntil(w.message_bar.isVisible)
    QApplication.processEvents()
    assert _list_y(desk) == before
    w.message_bar.show_message("success", "Invoice created.")
    QApplication.processEvents()
    assert _list_y(desk) == before
    w.message_bar.dismiss()
    w.message_bar.dismiss()
    QApplication.processEvents()
    assert not w.message_bar.isVisible() and _list_y(desk) == before


def test_an_action_message_goes_when_another_record_is_shown(qtbot, desk: Desk) -> None:
    w = desk.window
    to_invoice = [r.summary.id for r in desk.cache.iter_all(Query(source="jumpseller", needs=("invoice",)))]
    first, second = to_invoice[:2]
    desk.sandbox.inject("marketplacer", "500")  # the marketplace is down today
    with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT * 3):
        w.sync_action.trigger()
    assert "Could not sync" in w.message_bar.text()
    _select(desk, "jumpseller", desk.login, first)
    desk.sandbox.inject("invoicing", "500")  # the invoicing service fails on this one
    with qtbot.waitSignal(w.controller.actionFinished, timeout=WAIT) as done:
        w.create_invoice_action.trigger()
        answer(qtbot, w)
    assert done.args[0].kind == "error"
    shown = w.message_bar.shown_text()
    assert f"order {first}" in shown and "outcome is unknown" in shown
    assert ").)." not in shown and "/invoicing" not in shown and "http://" not in shown
    assert "Path: /invoicing/" in w.message_bar.details()

    _select(desk, "jumpseller", desk.login, second)
    assert f"order {first}" not in w.message_bar.text()
    assert "Could not sync" in w.message_bar.text()  # the condition still holds: it shows again
    _select(desk, "jumpseller", desk.login, first)
    assert f"order {first}" not in w.message_bar.text()  # gone, not hidden


def test_could_not_sync_goes_away_after_a_good_sync(qtbot, desk: Desk) -> None:
    w = desk.window
    desk.sandbox.inject("jumpseller", "500")
    with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT * 3) as failed:
        w.sync_action.trigger()
    assert any(not r.ok for r in failed.args[0])
    shown = w.message_bar.shown_text()
    assert shown.startswith("Could not sync")
    assert "/jumpseller/v1" not in shown and "http" not in shown.lower().replace("http 500", "")
    details = w.message_bar.details()
    assert "/jumpseller/v1/" in details and "HTTP status: 500" in details
    token = desk.services.secrets.get(desk.services.config.jumpseller[0].token_key)
    assert token and token not in details

    desk.sandbox.clear_faults()
    with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT * 3) as good:
        w.sync_action.trigger()
    assert all(r.ok for r in good.args[0])
    assert "Could not sync" not in w.message_bar.text()
    assert not w.message_bar.isVisible()


def _failure(sb: Any, kind: str, qrun, *, method: str = "GET") -> InvoiceDeskError:
    """The error a real request policy raises for ``kind`` from the sandbox's store."""
    sb.inject("jumpseller", kind)
    token = sb.stores[0].token

    async def go() -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(0.5), auth=(sb.stores[0].login, token)) as http:
            policy = RequestPolicy(
                http,
                service="Jumpseller",
                account=sb.stores[0].login,
                retry=RetryConfig(max_attempts=2, base_delay=0.01, max_delay=0.02),
                secrets=[token],
            )
            await policy.request(method, f"{sb.jumpseller_url}/orders/after/1313.json")

    try:
        qrun(go())
    except InvoiceDeskError as exc:
        return exc
    finally:
        sb.clear_faults()
    raise AssertionError(f"{kind} did not fail")


@pytest.mark.parametrize("kind", ["500", "html", "slow"])
def test_what_staff_read_names_no_endpoint_and_copy_details_keeps_it(qtbot, qrun, desk: Desk, kind: str) -> None:
    w = desk.window
    exc = _failure(desk.sandbox, kind, qrun)
    assert "/jumpseller/v1/orders/after/1313.json" in str(exc)  # the log keeps the path
    w._on_sync_finished([SyncResult(desk.login, "jumpseller", error=str(exc))])
    shown = w.message_bar.shown_text()
    assert shown.startswith(f"Could not sync {desk.login}")
    assert "/jumpseller/v1" not in shown and "1313.json" not in shown
    assert "http://" not in shown and "https://" not in shown and "127.0.0.1" not in shown
    assert ").)." not in shown and ".)" not in shown
    # The actions' tooltips say why in the same words.
    tip = w.controller.refusal(desk.cache.get("jumpseller", desk.login, _ids(desk, "jumpseller", desk.login)[0]),
                               "invoice")
    if tip is not None:
        assert "/jumpseller/v1" not in tip and ").)." not in tip

    assert w.message_bar.copy_button.isVisible()
    qtbot.mouseClick(w.message_bar.copy_button, Qt.MouseButton.LeftButton)
    assert w.message_bar.copy_button.text() == "Copied"
    copied = QGuiApplication.clipboard().text()
    assert "Path: /jumpseller/v1/orders/after/1313.json" in copied
    assert f"Account: {desk.login}" in copied and "Time: " in copied
    assert desk.sandbox.stores[0].token not in copied
    if kind != "slow":
        assert "HTTP status: " in copied


def test_staff_words_and_support_details_never_carry_a_token() -> None:
    text = (
        "Could not sync s: Jumpseller account 's' (/jumpseller/v1/orders.json): the service sent a web page "
        "instead of data (HTTP 502); see https://api.example.com/v1/orders.json?authtoken=SECRET123456 now."
    )
    words = staff_words(text)
    assert "/jumpseller" not in words and "https" not in words and "SECRET" not in words
    details = support_details(text, record="jumpseller s 12")
    assert "SECRET123456" not in details and "Record: jumpseller s 12" in details
    assert "Path: /jumpseller/v1/orders.json" in details and "HTTP status: 502" in details


# ----------------------------------------------------------------------------- views


def test_the_views_count_what_the_cache_holds_and_show_it_in_one_click(qtbot, desk: Desk) -> None:
    w = desk.window
    fb = w.filter_bar

    def truth(codes: tuple[str, ...]) -> int:
        return sum(1 for r in desk.cache.iter_all(Query()) if r.summary.needs_action in codes)

    qtbot.waitUntil(lambda: all(n is not None for n in fb.view_counts.values()), timeout=WAIT)
    for view in VIEWS:
        n = truth(view.needs)
        assert fb.view_counts[view.name] == n, view
        assert fb.view_buttons[view.name].text() == f"{view.label} ({n:,})"
    assert fb.view_counts["needsInvoice"] and fb.view_counts["toSend"]

    qtbot.mouseClick(fb.view_buttons["toSend"], Qt.MouseButton.LeftButton)
    assert w.model.query.needs == ("mark_sent",)
    qtbot.waitUntil(lambda: w.model.rowCount() == fb.view_counts["toSend"], timeout=WAIT)
    assert {w.model.summary(r).needs_action for r in range(w.model.rowCount())} == {"mark_sent"}
    assert w.count_label.text().startswith(f"{fb.view_counts['toSend']:,} of ")

    # Narrowed to the store: the counts follow the account choice.
    fb.account_combo.setCurrentIndex(fb.account_combo.findData("jumpseller:"))
    qtbot.waitUntil(lambda: fb.view_counts["toSend"] == 0, timeout=WAIT)
    assert fb.view_counts["needsInvoice"] == truth(("invoice", "check_documents"))

    # The counts follow the search too: a click shows as many rows as the count said.
    fb.account_combo.setCurrentIndex(0)
    customer = next(r.summary.customer for r in desk.cache.iter_all(Query(needs=("invoice",))))
    fb.search_edit.setText(customer.split()[-1])
    qtbot.waitUntil(lambda: w.model.query.search == customer.split()[-1], timeout=WAIT)
    wanted = desk.cache.count(Query(search=customer.split()[-1], needs=("invoice", "check_documents")))
    qtbot.waitUntil(lambda: fb.view_counts["needsInvoice"] == wanted, timeout=WAIT)
    qtbot.mouseClick(fb.view_buttons["needsInvoice"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.model.rowCount() == wanted, timeout=WAIT)

    # A status choice ends the view.
    fb.status_combo.setCurrentIndex(1)
    assert fb.current_view() is None and not fb.view_buttons["toSend"].isChecked()
    assert w.model.query.needs == ()


def test_one_spelling_of_cancelled_and_the_customer_in_full_in_the_tooltip(qtbot, desk: Desk) -> None:
    from invoicedesk.ui.filter_bar import STATUS_CHOICES
    from invoicedesk.ui.records_model import Column

    labels = [label for label, _s, _st in STATUS_CHOICES]
    assert "Cancelled (orders)" in labels and "Cancelled (invoices)" in labels
    assert not any("Canceled" in label for label in labels)
    w = desk.window
    row = next(r for r in range(w.model.rowCount()) if w.model.summary(r).customer)
    summary = w.model.summary(row)
    tip = w.model.data(w.model.index(row, Column.CUSTOMER), Qt.ItemDataRole.ToolTipRole)
    assert summary.customer in tip
    if summary.email:
        assert summary.email in tip
    canceled = [r for r in range(w.model.rowCount()) if w.model.summary(r).status == "canceled"]
    for r in canceled:
        assert w.model.data(w.model.index(r, Column.STATUS)) == "Cancelled"


def test_sync_progress_says_checking_while_it_checks(qtbot, desk: Desk) -> None:
    from invoicedesk.sync import SyncProgress

    w = desk.window
    desk.sandbox.inject("jumpseller", "latency", delay=0.2)  # a sync slow enough to watch
    with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT * 3):
        w.sync_action.trigger()
        w.controller.syncProgress.emit(SyncProgress("second-store", "invoices attached", 75, 259))
        qtbot.waitUntil(lambda: "second-store" in w.sync_label.text(), timeout=WAIT)
        text = w.sync_label.text()
    assert "second-store: checking invoices 75/259" in text and "attached" not in text


# ----------------------------------------------------------------------------- links


def test_a_link_no_browser_opens_says_so_and_offers_it_to_copy(qtbot, desk: Desk) -> None:
    w = desk.window
    opened: list[str] = []

    def no_browser(url: QUrl) -> bool:
        opened.append(url.toString())
        return False

    w.url_opener = no_browser
    order_id = _ids(desk, "jumpseller", desk.login)[0]
    _select(desk, "jumpseller", desk.login, order_id)
    link = admin_link(desk.services.config, "jumpseller", desk.login, order_id)
    assert link is not None and link[0] == "Open in Jumpseller admin"
    assert w.detail.admin_label.isVisible() and "Open in Jumpseller admin" in w.detail.admin_label.text()

    w.detail.open_url(link[1])  # the link in the details pane
    assert opened == [link[1]]
    shown = w.message_bar.shown_text()
    assert "did not open" in shown and "Copy link" in shown and "http" not in shown
    (label, copy), = w.message_bar.links()
    assert label == "Copy link"
    w.message_bar.linkActivated.emit(copy)
    assert QGuiApplication.clipboard().text() == link[1]
    assert "copied" in w.statusBar().currentMessage().lower()

    # Double-click on the row (Ctrl+Shift+O does the same) goes the same way.
    opened.clear()
    row = w.model.row_of_key(("jumpseller", desk.login, order_id))
    index = w.model.index(row, 0)
    w.table.doubleClicked.emit(index)
    assert opened == [link[1]]
    opened.clear()
    w.open_admin_action.trigger()
    assert opened == [link[1]]

    # The message belongs to that order: it goes when another record is shown.
    _select(desk, "marketplacer", desk.seller, _ids(desk, "marketplacer", desk.seller)[0])
    assert "did not open" not in w.message_bar.text()
    assert w.detail.admin_label.text().count("Marketplacer portal") == 1


def test_admin_addresses_follow_the_configured_base() -> None:
    from invoicedesk.config import Config, JumpsellerAccount, MarketplacerAccount

    config = Config(
        jumpseller=(JumpsellerAccount(name="shop", login="shop", api_url="https://api.jumpseller.com/v1"),),
        marketplacer=(MarketplacerAccount(name="seller", api_url="https://market.example.com"),),
    )
    assert admin_link(config, "jumpseller", "shop", "1313") == (
        "Open in Jumpseller admin", "https://jumpseller.com/admin/orders/1313")
    assert admin_link(config, "marketplacer", "seller", "Inv/9") == (
        "Open in the Marketplacer portal", "https://market.example.com/seller/invoices/Inv%2F9")
    assert admin_link(config, "jumpseller", "gone", "1") is None


def test_a_long_status_line_is_shortened_beside_the_count_never_drawn_into_it(qtbot, desk: Desk) -> None:
    w = desk.window
    long_line = "Create invoice: working on order 1313 " + "and a great deal more " * 20
    w.statusBar().showMessage(long_line, 5000)
    QApplication.processEvents()
    status, count = w.status_message, w.count_label
    assert status.text() == long_line and count.text().endswith("records")
    assert status.geometry().right() < count.geometry().left()  # side by side, apart
    assert count.width() >= count.fontMetrics().horizontalAdvance(count.text())  # the count in full
    assert status.toolTip() == long_line  # shortened on screen, whole in the tooltip


def test_could_not_sync_goes_when_its_accounts_answer_again(qtbot, qrun, desk: Desk) -> None:
    """"Actions are off until a sync gets through": a connection check that reaches every
    account it named makes that untrue, so the message goes."""
    w = desk.window
    desk.sandbox.inject("marketplacer", "500")
    with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT * 3) as failed:
        w.sync_action.trigger()
    assert [r.account for r in failed.args[0] if not r.ok] == [desk.seller]
    assert "Could not sync" in w.message_bar.text()
    qrun(w.controller.check_connections())  # still failing: the message stays
    assert "Could not sync" in w.message_bar.text()
    desk.sandbox.clear_faults()
    qrun(w.controller.check_connections())
    assert "Could not sync" not in w.message_bar.text()
