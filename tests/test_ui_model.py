"""The combined list's model over a real cache: contract, SQL sorting and paging, filtering, and
a large list scrolled through a view until the process exits cleanly."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QIcon

from invoicedesk.cache import Cache, Query
from invoicedesk.domain import Source, Summary
from invoicedesk.ui.records_model import Column, RecordsModel, SortRole
from tests.ui_helpers import copy_cache, sync_in_thread

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cache]:
    from invoicedesk.sandbox import Sandbox

    folder = tmp_path_factory.mktemp("model-cache")
    with Sandbox(seed=5, orders=40, invoices=60, rate_limits=False) as sb:
        sync_in_thread(sb, folder)
    c = Cache.open(folder)
    yield c
    c.close()


def all_rows(model: RecordsModel) -> None:
    while model.canFetchMore():
        model.fetchMore()


def test_model_passes_the_qt_model_tester_over_real_cached_records(qtmodeltester, cache: Cache) -> None:
    model = RecordsModel(cache, page_size=50)
    model.set_query(Query())
    assert model.rowCount() == 50 and model.canFetchMore()
    qtmodeltester.check(model, force_py=True)
    all_rows(model)
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == cache.count() > 100


def test_each_role_gives_what_the_view_and_the_window_expect(cache: Cache) -> None:
    model = RecordsModel(cache, locale="en_US", icons=lambda s: QIcon())
    model.set_query(Query(source="jumpseller", account="demo-store"))
    s = model.data(model.index(0, 0), Qt.ItemDataRole.UserRole)
    assert isinstance(s, Summary) and s.source is Source.JUMPSELLER
    total = model.index(0, Column.TOTAL)
    assert model.data(total) == f"${s.total:,.2f}"
    assert model.data(total, SortRole) == s.total and isinstance(s.total, Decimal)
    alignment = model.data(total, Qt.ItemDataRole.TextAlignmentRole)
    assert alignment & Qt.AlignmentFlag.AlignRight
    assert isinstance(model.data(model.index(0, Column.SOURCE), Qt.ItemDataRole.DecorationRole), QIcon)
    assert model.data(model.index(0, Column.ID)) == s.id
    assert model.data(model.index(0, Column.SOURCE)) == "Jumpseller"
    assert model.data(model.index(0, Column.DATE), SortRole) == s.date
    assert model.rowCount(model.index(0, 0)) == 0  # a table: no children

    # Chilean pesos have no minor unit; the needs-action code becomes words.
    model.set_query(Query(account="tienda-demo", needs_action=True))
    assert model.rowCount() > 0
    for row in range(model.rowCount()):
        assert "." not in model.data(model.index(row, Column.TOTAL))
        assert model.data(model.index(row, Column.NEEDS_ACTION)) in ("Create invoice", "Credit note owed", "Tax ID missing")


def test_sorting_is_done_in_sql_a_page_at_a_time(cache: Cache) -> None:
    model = RecordsModel(cache, page_size=30)
    model.set_query(Query())
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))

    model.sort(Column.TOTAL, Qt.SortOrder.AscendingOrder)
    assert resets and model.rowCount() == 30  # only one page was read, in the new order
    expected = [r.rowid for r in cache.fetch(Query(), sort="total", descending=False, limit=30)]
    assert [model.rowid(i) for i in range(30)] == expected
    all_rows(model)
    # Totals sort within their currency: currency first, then the amount.
    totals = [(model.summary(i).currency, model.summary(i).total) for i in range(model.rowCount())]
    known = [t for t in totals if t[1] is not None]
    assert known == sorted(known) and len({c for c, _ in known}) > 1

    model.sort(Column.CUSTOMER, Qt.SortOrder.DescendingOrder)
    names = [model.data(model.index(i, Column.CUSTOMER)).lower() for i in range(model.rowCount())]
    assert names == sorted(names, reverse=True)


def test_fetch_more_adds_pages_until_every_record_is_loaded(qtbot, cache: Cache) -> None:
    model = RecordsModel(cache, page_size=25)
    model.set_query(Query())
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    total = cache.count()
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == total == model.total_count()
    assert inserted[0] == (25, 49)
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(inserted))
    ids = [model.rowid(i) for i in range(total)]
    assert len(set(ids)) == total  # no page read twice, none skipped


def test_filters_requery_the_cache(cache: Cache) -> None:
    model = RecordsModel(cache)
    model.set_query(Query(source="marketplacer"))
    all_rows(model)
    assert model.rowCount() == cache.count(Query(source="marketplacer")) > 0
    assert {model.summary(i).source for i in range(model.rowCount())} == {Source.MARKETPLACER}

    someone = next(r.summary for r in cache.iter_all(Query(source="jumpseller")) if r.summary.email)
    model.set_query(Query(search=someone.email))
    assert model.rowCount() >= 1
    assert someone.id in {model.summary(i).id for i in range(model.rowCount())}

    model.set_query(Query(needs_action=True))
    all_rows(model)
    assert model.rowCount() == model.total_count() > 0
    assert all(model.summary(i).needs_action for i in range(model.rowCount()))

    model.set_query(Query(search="no such thing anywhere"))
    assert model.rowCount() == 0 and not model.canFetchMore()


def test_a_changed_record_is_updated_in_place_with_one_ranged_signal(tmp_path: Path, cache: Cache) -> None:
    # A private copy: this test writes.
    c = Cache.open(copy_cache(cache.path.parent, tmp_path / "copy"))
    try:
        model = RecordsModel(c)
        model.set_query(Query(source="marketplacer"))
        resets: list[int] = []
        changes: list[tuple[int, int]] = []
        model.modelReset.connect(lambda: resets.append(1))
        model.dataChanged.connect(lambda a, b, _r=(): changes.append((a.row(), b.row())))
        row = 3
        s = model.summary(row)
        invoice = c.get_invoice(s.account, s.id)
        assert invoice is not None
        c.upsert([replace(invoice, status="refunded")])

        model.refresh()
        assert not resets
        assert changes == [(row, row)]
        assert model.data(model.index(row, Column.STATUS)) == "Refunded"

        # A record that was not there before moves the rows: a reset, never a silent shift.
        model.sort(Column.ID, Qt.SortOrder.DescendingOrder)
        resets.clear()
        c.upsert([replace(invoice, id="99999999")])
        model.refresh()
        assert resets == [1]
        assert model.summary(0).id == "99999999"
    finally:
        c.close()


def test_a_refresh_read_elsewhere_is_shown_only_while_the_list_is_as_it_was(tmp_path: Path, cache: Cache) -> None:
    """The window re-reads during a sync on another thread and connection: what it finds is
    shown, unless the list was searched, sorted or grown meanwhile (then it is dropped)."""
    c = Cache.open(copy_cache(cache.path.parent, tmp_path / "copy"))
    other = Cache(c.path)  # the counting thread's own connection
    try:
        model = RecordsModel(c, page_size=20)
        model.set_query(Query(source="marketplacer"))
        s = model.summary(2)
        invoice = c.get_invoice(s.account, s.id)
        assert invoice is not None
        c.upsert([replace(invoice, status="refunded")])

        read = model.refresh_read()
        assert model.apply_refresh(read, read.run(other))
        assert model.data(model.index(2, Column.STATUS)) == "Refunded"

        for change in (
            lambda: model.sort(Column.ID, Qt.SortOrder.AscendingOrder),
            lambda: model.set_query(Query(source="jumpseller")),
            model.fetchMore,
        ):
            read = model.refresh_read()
            rows = read.run(other)
            before = [model.summary(i) for i in range(model.rowCount())]
            change()
            after = [model.summary(i) for i in range(model.rowCount())]
            assert not model.apply_refresh(read, rows)  # made before the change: dropped
            assert [model.summary(i) for i in range(model.rowCount())] == after != before
        assert not model.apply_refresh(model.refresh_read(), None)  # a failed read changes nothing
    finally:
        other.close()
        c.close()


def test_invalid_indexes_and_out_of_range_sections_give_nothing(cache: Cache) -> None:
    model = RecordsModel(cache)
    model.set_query(Query())
    assert model.data(QModelIndex()) is None
    assert model.headerData(99, Qt.Orientation.Horizontal) is None
    assert model.headerData(0, Qt.Orientation.Vertical) is None
    assert model.headerData(Column.TOTAL, Qt.Orientation.Horizontal) == "Total"


SCROLL_SCRIPT = textwrap.dedent(
    """
    import sqlite3, sys, tempfile
    from pathlib import Path
    from PySide6.QtWidgets import QApplication, QHeaderView, QTableView
    from invoicedesk.cache import Cache, Query
    from invoicedesk.domain import parse_invoice_document, parse_order
    from invoicedesk.sandbox import Sandbox
    from invoicedesk.ui.records_model import RecordsModel

    folder = Path(sys.argv[1])
    sb = Sandbox(seed=9, orders=500, invoices=500)
    cache = Cache.open(folder)
    store, seller = sb.stores[0].login, sb.sellers[0].name
    cache.upsert([parse_order(o, account=store) for o in sb.truth_orders(store)])
    cache.upsert([
        parse_invoice_document(sb.truth_invoice_document(seller, int(i["id"])), account=seller, currency="AUD")
        for i in sb.truth_invoices(seller)
    ])
    cache.close()
    # Copies of those records under other numbers, written by SQLite itself (fast).
    db = sqlite3.connect(folder / "cache.sqlite3")
    cols = [r[1] for r in db.execute("PRAGMA table_info(records)") if r[1] != "rowid"]
    src = ["CAST(id_sort + :k AS TEXT)" if c == "record_id" else "id_sort + :k" if c == "id_sort" else c
           for c in cols]
    with db:
        for k in range(1, 24):
            db.execute(f"INSERT INTO records ({', '.join(cols)}) SELECT {', '.join(src)} FROM records "
                       "WHERE id_sort < 1000000", {"k": k * 1000000})
    db.close()

    calls = 0

    class Counting(RecordsModel):
        def data(self, index, role=0):
            global calls
            calls += 1
            return super().data(index, role)

    app = QApplication([])
    cache = Cache.open(folder)
    model = Counting(cache)
    model.set_query(Query())
    view = QTableView()
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # as the window does
    view.verticalHeader().setVisible(False)
    view.setModel(model)
    view.resize(1200, 900)
    view.show()
    app.processEvents()
    bar = view.verticalScrollBar()
    while model.canFetchMore():  # every page, as scrolling to the bottom would load them
        bar.setValue(bar.maximum())
        model.fetchMore()
    app.processEvents()
    rows = model.rowCount()
    for value in range(bar.maximum(), -1, -max(1, bar.maximum() // 150)):
        bar.setValue(value)
        view.viewport().repaint()
    app.processEvents()
    print(f"rows={rows} total={cache.count()} data_calls={calls}", flush=True)
    view.close()
    del view, model
    cache.close()
    """
)


def test_a_large_list_scrolls_end_to_end_and_the_process_exits_cleanly(tmp_path: Path) -> None:
    """20,000+ cached rows through a real view: hundreds of thousands of data() calls, then exit.

    Run in its own process: PySide6 6.12 on Python 3.11 over-releases None in these paths and
    the damage often shows only at interpreter exit (exit 134, "none_dealloc").
    """
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-c", SCROLL_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "none_dealloc" not in proc.stderr
    fields = dict(part.split("=") for part in proc.stdout.split())
    assert int(fields["rows"]) == int(fields["total"]) >= 20_000
    assert int(fields["data_calls"]) >= 200_000, proc.stdout


def test_the_lists_own_delegate_paints_the_same_pixels_as_qts(qtbot, qrun, tmp_path: Path) -> None:
    """The list fills each cell's style option in one call (``RecordsDelegate``) instead of Qt
    asking the model seven roles: what staff see must not change. Rendered both ways, pixel
    for pixel: service icons, right-aligned totals, the bold "Needs action", a selected row,
    a name with a line break, one past the cell's character cap, and no amount."""
    import copy
    import json

    from PySide6.QtWidgets import QStyledItemDelegate

    from invoicedesk.actions import Actions
    from invoicedesk.config import Config, JumpsellerAccount, MarketplacerAccount, StaticSecrets
    from invoicedesk.domain import parse_invoice_document, parse_order
    from invoicedesk.services import Services
    from invoicedesk.sync import Syncer
    from invoicedesk.ui.main_window import MainWindow
    from invoicedesk.ui.records_model import RecordsDelegate
    from tests.fixtures import FIXTURES

    body = json.loads((FIXTURES / "jumpseller" / "order-1026-docs-example.json").read_text())
    names = ["Ana Pérez", "Two\nlines", "Long " + "y" * 400, "Zoë O'Brien", "李小龍", "Søren Ægir"]
    orders = []
    for i, name in enumerate(names):
        odd = copy.deepcopy(body)
        odd["order"]["id"] = 2000 + i
        odd["order"]["customer"]["fullname"] = name
        if i == 3:
            odd["order"].pop("total", None)
        orders.append(parse_order(odd, account="demo-store"))
    show = json.loads((FIXTURES / "marketplacer" / "invoice_show_200.json").read_text())["payload"]
    invoice = parse_invoice_document(show, account="demo-seller", currency="AUD")
    cache = Cache.open(tmp_path)
    cache.upsert(orders, documents_known=True)
    cache.upsert([invoice])
    dead = "http://127.0.0.1:9"  # nobody listens: the list is drawn from the cache alone
    config = Config(
        jumpseller=(JumpsellerAccount(name="demo-store", login="demo-store", api_url=dead + "/jumpseller/v1"),),
        marketplacer=(MarketplacerAccount(name="demo-seller", api_url=dead + "/marketplacer", currency="AUD"),),
    )
    services = Services(config, StaticSecrets(), tmp_path)
    window = MainWindow(services, cache, Syncer(services, cache), Actions(services, cache), sync_on_start=False)
    qtbot.addWidget(window)
    window.resize(1900, 500)
    window.show()
    qtbot.waitExposed(window)
    try:
        table = window.table
        assert table.isVisible()
        hidden = [c.name for c in Column if table.isColumnHidden(c)]
        assert not hidden, hidden
        assert isinstance(table.itemDelegate(), RecordsDelegate)
        model = window.model
        qtbot.waitUntil(lambda: model.rowCount() == len(names) + 1)
        needs = [model.data(model.index(r, Column.NEEDS_ACTION)) for r in range(model.rowCount())]
        assert any(needs), "a row that needs action (bold) is on screen"
        sources = {model.data(model.index(r, Column.SOURCE)) for r in range(model.rowCount())}
        assert sources == {"Jumpseller", "Marketplacer"}
        table.selectRow(2)

        ours = table.viewport().grab().toImage()
        ours.save("/tmp/probe/ours.png")
        table.setItemDelegate(QStyledItemDelegate(table))
        qts = table.viewport().grab().toImage()
        assert not ours.isNull() and ours.size() == qts.size()
        assert ours == qts
    finally:
        qrun(window.shutdown())
        qrun(services.aclose())
        cache.close()
