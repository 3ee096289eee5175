"""Day one at the counter: a first start that guides, a window that fits, and staying current.

Stories over a real window (offscreen), a real cache file and the sandbox on 127.0.0.1; the
automatic-sync rules are checked by stepping a fake clock through the plan the window follows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, QSettings, QSize, Qt

from invoicedesk.config import Config, StaticSecrets, dump_config, parse_config
from invoicedesk.sandbox import Sandbox
from invoicedesk.ui.auto_sync import AutoSyncPlan
from invoicedesk.ui.records_model import Column
from invoicedesk.ui.window_layout import (
    KEY_COLUMNS,
    SIDE_BY_SIDE_MIN,
    columns_to_hide,
    default_rect,
    fit_rect,
    place_window,
)
from tests.ui_helpers import Desk, copy_cache, make_desk, sync_in_thread

SHOP = {"seed": 4, "orders": 30, "invoices": 30, "stores": 1, "sellers": 1, "rate_limits": False}
WAIT = 20_000


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    sb = Sandbox(**SHOP)
    sb.start()
    folder = tmp_path_factory.mktemp("first-start-shop")
    sync_in_thread(sb, folder)
    yield sb, folder
    sb.stop()


def _window(services: Any, folder: Path, **kw: Any) -> Any:
    from invoicedesk.actions import Actions
    from invoicedesk.cache import Cache
    from invoicedesk.sync import Syncer
    from invoicedesk.ui.main_window import MainWindow

    cache = Cache.open(folder)
    return MainWindow(services, cache, Syncer(services, cache), Actions(services, cache), **kw)


def _close(qrun, window: Any) -> None:
    qrun(window.shutdown())
    qrun(window.services.aclose())
    window.close()
    window.cache.close()
    window.deleteLater()


@pytest.fixture
def first_start(qtbot, qrun, tmp_path: Path) -> Iterator[Any]:
    """A window on a new desk: no configuration file yet, an empty data folder."""
    from invoicedesk.services import Services

    data = tmp_path / "data"
    data.mkdir()
    services = Services(Config(path=tmp_path / "config" / "config.toml"), StaticSecrets(), data)
    window = _window(services, data)
    window.show()
    qtbot.waitExposed(window)
    window.start()  # as the app does: with accounts this would be the first sync
    qrun(window.ready())
    yield window
    _close(qrun, window)


# ----------------------------------------------------------------------------- a first start that guides


def test_a_first_start_shows_the_welcome_with_three_ways_on_and_no_sync_message(first_start) -> None:
    w = first_start
    assert w.pages.currentWidget() is w.welcome and w.welcome.isVisible()
    buttons = [w.welcome.add_store_button, w.welcome.add_seller_button, w.welcome.demo_button]
    assert [b.text() for b in buttons] == [
        "Add a Jumpseller store",
        "Add a Marketplacer seller",
        "Try the demo",
    ]
    assert all(b.isVisible() and b.isEnabled() for b in buttons)
    assert not w.controller.syncing and w.controller.last_results == []
    assert w.statusBar().currentMessage() == ""  # no "Sync cancelled" for a sync that never was
    assert not w.message_bar.isVisible()
    assert not w.sync_action.isEnabled() and not w.filter_bar.isVisible()
    # Nothing to invoice or export yet: the toolbar says so by its greyed buttons.
    assert not w.invoice_all_action.isEnabled() and not w.export_action.isEnabled()
    assert w.accounts_action.isEnabled()
    assert w.start_sync() is None  # F5 on the welcome starts nothing either
    assert w.statusBar().currentMessage() == ""


def test_try_the_demo_starts_this_program_again_with_demo(first_start) -> None:
    import sys

    from invoicedesk.ui.welcome import demo_command

    program, args = demo_command()
    assert program == sys.executable and args[-1] == "--demo"
    assert args[:2] == ["-m", "invoicedesk"]  # a source install; the frozen app is its own command


def test_adding_the_first_store_shows_the_list_and_its_first_sync(qtbot, qrun, first_start, shop) -> None:
    sb, _synced = shop
    w = first_start
    store = sb.stores[0]
    qtbot.mouseClick(w.welcome.add_store_button, Qt.MouseButton.LeftButton)
    dialog = w.accounts_dialog
    assert dialog is not None and dialog.isVisible()
    draft = dialog.current
    assert draft is not None and draft.kind == "jumpseller"  # a new store, ready to fill in
    values = {
        "name": "web-store",
        "login": store.login,
        "api_url": sb.jumpseller_url,
        "invoicing_url": sb.invoicing_url,
        "token": store.token,
        "hooks_token": store.hooks_token or "",
    }
    for key, value in values.items():
        dialog.edits["jumpseller"][key].setText(value)

    with qtbot.waitSignal(w.controller.syncStarted, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert w.pages.currentWidget() is w.splitter and w.table.isVisible()
    assert w.filter_bar.isVisible()
    assert w.sync_progress.isVisible() and w.cancel_sync_button.isVisible()
    assert w.sync_label.text().startswith("Syncing")
    qtbot.waitUntil(lambda: w.sync_label.width() >= 60)  # the words show, even on a narrow window
    with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT * 2) as finished:
        pass
    assert [r.account for r in finished.args[0]] == ["web-store"] and finished.args[0][0].ok
    qtbot.waitUntil(lambda: w.model.rowCount() > 0, timeout=WAIT)
    assert "Synced" in w.statusBar().currentMessage()
    assert w.windowTitle() == "InvoiceDesk"  # a first sync's whole history is not "new"


def test_add_a_seller_opens_the_accounts_dialog_on_a_new_seller(qtbot, first_start) -> None:
    w = first_start
    qtbot.mouseClick(w.welcome.add_seller_button, Qt.MouseButton.LeftButton)
    draft = w.accounts_dialog.current
    assert draft is not None and draft.kind == "marketplacer"
    w.accounts_dialog.close()


# ----------------------------------------------------------------------------- a window that fits


def test_a_first_start_takes_most_of_the_screen_and_no_more() -> None:
    laptop = QRect(0, 0, 1280, 692)  # 1280×720 less a panel
    rect = default_rect(laptop)
    assert laptop.contains(rect) and rect.width() == 1152 and rect.height() == 622
    big = default_rect(QRect(0, 0, 3840, 2100))
    assert (big.width(), big.height()) == (1600, 1000)
    assert QRect(0, 0, 3840, 2100).contains(big)


def test_a_remembered_geometry_is_pulled_inside_a_smaller_screen() -> None:
    small = QRect(0, 0, 1280, 692)
    saved_on_a_big_monitor = QRect(1700, 400, 1440, 820)
    fitted = fit_rect(saved_on_a_big_monitor, small, QSize(0, 30))
    assert fitted.width() == 1280 and fitted.height() == 662
    assert small.contains(fitted.adjusted(0, -30, 0, 0))  # title bar included
    inside = QRect(100, 80, 800, 500)
    assert fit_rect(inside, small, QSize(0, 30)) == inside  # already fine: left alone


def test_the_window_opens_inside_a_small_screen_even_if_it_was_bigger(
    qtbot, qrun, shop, tmp_path: Path
) -> None:
    sb, synced = shop
    ini = str(tmp_path / "window.ini")
    desk = make_desk(sb, copy_cache(synced, tmp_path / "a"), sync_on_start=False)
    w = desk.window
    try:
        w.setGeometry(QRect(600, 300, 1500, 950))  # as it was on a big monitor
        s = QSettings(ini, QSettings.Format.IniFormat)
        s.setValue("window/geometry", w.saveGeometry())
        s.sync()
        small = QRect(0, 0, 1024, 600)
        place_window(w, s.value("window/geometry"), available=small)
        assert w.width() <= 1024 and w.height() <= 600
        assert small.contains(w.geometry())
        assert w.minimumWidth() <= 800
    finally:
        _close(qrun, w)


def _opened(qtbot, qrun, desk: Desk) -> Any:
    desk.window.show()
    qtbot.waitExposed(desk.window)
    desk.window.start()
    qrun(desk.window.ready())
    return desk.window


def test_at_800_px_the_key_columns_fit_and_the_details_are_under_the_list(
    qtbot, qrun, shop, tmp_path: Path
) -> None:
    sb, synced = shop
    w = _opened(qtbot, qrun, make_desk(sb, copy_cache(synced, tmp_path / "a"), sync_on_start=False))
    try:
        w.resize(1280, 720)
        qtbot.waitUntil(lambda: w.splitter.orientation() == Qt.Orientation.Horizontal)
        far = min(w.model.rowCount() - 1, 25)
        summary = w.model.summary(far)
        assert w.select_record(summary.source.value, summary.account, summary.id)
        w.resize(800, 600)
        qtbot.waitUntil(lambda: w.splitter.orientation() == Qt.Orientation.Vertical)
        qtbot.waitUntil(lambda: w.table.width() > 700)
        assert w.width() == 800
        assert w.detail.geometry().top() >= w.table.geometry().bottom()
        header = w.table.horizontalHeader()
        room = w.table.viewport().width()
        for col in KEY_COLUMNS:
            assert not header.isSectionHidden(col), col
            left = header.sectionViewportPosition(col)
            assert 0 <= left and left + header.sectionSize(col) <= room, (col, left, room)
        assert w.table.horizontalScrollBar().maximum() == 0  # no sideways scrolling
        # The record staff were on is still in view in the shorter list.
        qtbot.waitUntil(lambda: w.table.rowAt(0) <= far <= w.table.rowAt(w.table.viewport().height() - 1))
        # The status bar shows the connection state inside the window.
        right = w.online_indicator.mapTo(w, QPoint(w.online_indicator.width(), 0)).x()
        assert w.online_indicator.isVisible() and right <= w.width()
        assert w.last_synced_label.isVisible()
        # Every toolbar button in view (no overflow menu).
        for act in (w.sync_action, w.create_invoice_action, w.export_action, w.accounts_action):
            button = w.button_for(act)
            assert button is not None and button.isVisible()
            assert button.mapTo(w, QPoint(button.width(), 0)).x() <= w.width()

        w.resize(max(SIDE_BY_SIDE_MIN, 1280), 720)
        qtbot.waitUntil(lambda: w.splitter.orientation() == Qt.Orientation.Horizontal)
        qtbot.waitUntil(lambda: not header.isSectionHidden(Column.DATE))
        assert w.detail.geometry().left() >= w.table.geometry().right()
        assert w.splitter.sizes()[0] > w.splitter.sizes()[1]  # the list keeps the larger part
    finally:
        _close(qrun, w)


def test_columns_hidden_for_room_come_back_in_the_saved_layout(qtbot, qrun, shop, tmp_path: Path) -> None:
    sb, synced = shop
    ini = str(tmp_path / "window.ini")
    settings = QSettings(ini, QSettings.Format.IniFormat)
    desk = make_desk(sb, copy_cache(synced, tmp_path / "a"), sync_on_start=False, settings=settings)
    w = _opened(qtbot, qrun, desk)
    try:
        w.resize(800, 600)
        qtbot.waitUntil(lambda: w.table.horizontalHeader().isSectionHidden(Column.INVOICE))
        w.close()  # saves the layout
        restored = QSettings(ini, QSettings.Format.IniFormat)
        from PySide6.QtWidgets import QHeaderView

        probe = QHeaderView(Qt.Orientation.Horizontal)
        probe.setModel(w.model)
        assert probe.restoreState(restored.value("table/header"))
        assert not probe.isSectionHidden(Column.INVOICE)  # hidden only for lack of room
        probe.deleteLater()
    finally:
        _close(qrun, w)


def test_less_important_columns_go_first() -> None:
    widths = [(c, 100) for c in Column]
    assert columns_to_hide(widths, 1000) == set()
    assert columns_to_hide(widths, 800) == {Column.INVOICE, Column.DELIVERY}
    assert columns_to_hide(widths, 100) == set(Column) - KEY_COLUMNS  # key columns always stay


# ----------------------------------------------------------------------------- staying current


def test_auto_sync_is_on_every_5_minutes_unless_configured_off() -> None:
    assert Config().auto_sync_minutes == 5
    assert parse_config({}).auto_sync_minutes == 5
    off = Config(auto_sync_minutes=0)
    assert "auto_sync_minutes = 0" in dump_config(off)
    import tomllib

    assert parse_config(tomllib.loads(dump_config(off))).auto_sync_minutes == 0
    assert "auto_sync_minutes" not in dump_config(Config())


def _run(plan: AutoSyncPlan, reachable: Any, *, until: int, network_back_at: int | None = None) -> list[str]:
    """Step a fake clock (minutes) through the plan: what the window would do, and when."""
    log: list[str] = []
    now = 0
    delay = plan.delay_minutes()
    while delay is not None:
        due = now + delay
        if network_back_at is not None and now < network_back_at <= due:
            now = network_back_at
            if plan.network_back() == "sync":
                plan.reached(reachable(now))
                log.append(f"{now}: sync (network back)")
                delay = plan.delay_minutes()
                continue
        now = due
        if now > until:
            break
        step = plan.next_step()
        got_through = reachable(now)
        log.append(f"{now}: {step}{'' if got_through else ' (nothing answers)'}")
        if plan.reached(got_through) == "sync":
            log.append(f"{now}: sync (network back)")
        delay = plan.delay_minutes()
    return log


def test_offline_the_tries_back_off_to_30_minutes_and_a_check_that_gets_through_syncs_at_once() -> None:
    def cable_out_from_6_to_100(now: int) -> bool:
        return not 6 <= now < 100

    log = _run(AutoSyncPlan(5), cable_out_from_6_to_100, until=120)
    assert log == [
        "5: sync",
        "10: sync (nothing answers)",
        "20: check (nothing answers)",
        "40: check (nothing answers)",
        "70: check (nothing answers)",  # 30 minutes at most between tries
        "100: check",
        "100: sync (network back)",
        "105: sync",
        "110: sync",
        "115: sync",
        "120: sync",
    ]


def test_when_the_system_reports_the_network_back_the_window_syncs_at_once() -> None:
    def cable_out_from_6_to_50(now: int) -> bool:
        return not 6 <= now < 50

    log = _run(AutoSyncPlan(5), cable_out_from_6_to_50, until=70, network_back_at=50)
    assert log[:4] == ["5: sync", "10: sync (nothing answers)", "20: check (nothing answers)", "40: check (nothing answers)"]
    assert log[4] == "50: sync (network back)"
    assert log[5:] == ["55: sync", "60: sync", "65: sync", "70: sync"]


def test_off_means_never_and_a_longer_interval_is_its_own_cap() -> None:
    assert AutoSyncPlan(0).delay_minutes() is None
    assert AutoSyncPlan(0).network_back() is None
    hourly = AutoSyncPlan(60)
    hourly.reached(False)
    assert hourly.delay_minutes() == 60  # never more often than chosen, never beyond it offline


def test_the_window_syncs_by_itself_and_backs_off_while_nothing_answers(
    qtbot, qrun, tmp_path: Path
) -> None:
    with Sandbox(seed=8, orders=10, invoices=10, stores=1, sellers=1, rate_limits=False) as sb:
        desk = make_desk(sb, tmp_path / "data", sync_on_start=False)
        w = _opened(qtbot, qrun, desk)
        c = w.controller
        try:
            assert c.auto_timer.isActive() and c.auto_timer.interval() == 5 * 60_000
            assert not c.watching_network  # online: the system's network state is not news
            for service in ("jumpseller", "marketplacer"):
                sb.inject(service, "drop")  # the shop's line is down
            with qtbot.waitSignal(c.syncFinished, timeout=WAIT * 3) as failed:
                c.auto_timer.timeout.emit()  # as if 5 minutes went by
            assert failed.args[0] and not any(r.ok for r in failed.args[0])
            assert c.watching_network  # from now on, "the network is back" starts a sync
            assert c.auto_timer.isActive() and c.auto_timer.interval() == 10 * 60_000

            sb.clear_faults()
            assert c.auto_plan.next_step() == "check"  # offline: the next try is a light check
            with qtbot.waitSignal(c.syncFinished, timeout=WAIT * 3) as back:
                c.auto_timer.timeout.emit()  # 10 minutes later: a check gets through, then a sync
            assert back.args[0] and all(r.ok for r in back.args[0])
            assert c.auto_timer.interval() == 5 * 60_000

            for service in ("jumpseller", "marketplacer"):
                sb.inject(service, "drop")
            with qtbot.waitSignal(c.syncFinished, timeout=WAIT * 3):
                c.auto_timer.timeout.emit()
            assert c.auto_timer.interval() == 10 * 60_000
            sb.clear_faults()
            with qtbot.waitSignal(c.syncFinished, timeout=WAIT * 3) as again:
                c.network_back()  # the system reports the network up again: no waiting
            assert again.args[0] and all(r.ok for r in again.args[0])
            assert c.auto_timer.interval() == 5 * 60_000
        finally:
            _close(qrun, w)


def test_the_interval_is_chosen_in_the_sync_menu_and_remembered(qtbot, qrun, shop, tmp_path: Path) -> None:
    sb, synced = shop
    ini = str(tmp_path / "window.ini")
    desk = make_desk(
        sb,
        copy_cache(synced, tmp_path / "a"),
        sync_on_start=False,
        settings=QSettings(ini, QSettings.Format.IniFormat),
    )
    w = desk.window
    try:
        menu = w.sync_menu.findChild(type(w.sync_menu), "autoSyncMenu")
        assert menu is not None
        texts = [a.text() for a in menu.actions()]
        assert texts == ["Off", "Every minute", "Every 5 minutes", "Every 15 minutes", "Every 30 minutes"]
        assert [a.text() for a in menu.actions() if a.isChecked()] == ["Every 5 minutes"]
        next(a for a in menu.actions() if a.text() == "Every 15 minutes").trigger()
        assert w.controller.auto_timer.interval() == 15 * 60_000
        next(a for a in menu.actions() if a.text() == "Off").trigger()
        assert not w.controller.auto_timer.isActive()
    finally:
        _close(qrun, w)
    again = make_desk(
        sb,
        copy_cache(synced, tmp_path / "b"),
        sync_on_start=False,
        settings=QSettings(ini, QSettings.Format.IniFormat),
    )
    try:
        assert not again.window.controller.auto_timer.isActive()  # "Off" was remembered
    finally:
        _close(qrun, again.window)


def test_new_records_to_act_on_show_in_the_title_until_staff_look(qtbot, qrun, tmp_path: Path) -> None:
    with Sandbox(seed=9, orders=12, invoices=12, stores=1, sellers=1, rate_limits=False) as sb:
        folder = tmp_path / "data"
        sync_in_thread(sb, folder)  # yesterday's sync
        desk = make_desk(sb, folder, sync_on_start=False)
        w = _opened(qtbot, qrun, desk)
        try:
            assert w.windowTitle() == "InvoiceDesk"
            sb.advance(hours=48)  # two days of orders and marketplace sales
            with qtbot.waitSignal(w.controller.syncFinished, timeout=WAIT * 2):
                w.start_sync()
            qtbot.waitUntil(lambda: w.new_records.counting is not None and w.new_records.counting.done())
            fresh = sorted(w.new_records.unseen)
            assert fresh, "two days brought nothing to act on"
            for key in fresh:
                assert desk.cache.get(*key) is not None
                assert desk.cache.row(desk.cache.find_rowid(*key)).summary.needs_action
            assert w.windowTitle() == f"InvoiceDesk — {len(fresh)} new to act on"
            assert w.select_record(*fresh[0])
            left = len(fresh) - 1
            assert w.windowTitle() == (f"InvoiceDesk — {left} new to act on" if left else "InvoiceDesk")
            w.filter_bar.needs_action.setChecked(True)
            assert w.windowTitle() == "InvoiceDesk"
        finally:
            _close(qrun, w)
