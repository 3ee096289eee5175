"""The list at any size: every column sorts in the order staff read, from an index (never by
sorting every record), a search takes an indexed path for any term, a record deep in the list
is found without walking the rows before it, and a sort keeps the selected record in view.

Index use is proven with SQLite's own plan (``EXPLAIN QUERY PLAN``), not with timings.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt

from invoicedesk.cache import SORT_COLUMNS, Cache, Query, Row
from invoicedesk.cache import records as cache_records
from invoicedesk.cache.schema import MIGRATIONS
from invoicedesk.domain import Summary, parse_documents, parse_invoice_document, parse_order, record_key
from invoicedesk.needs import label as needs_label
from invoicedesk.ui.records_model import Column, RecordsModel
from tests.ui_helpers import copy_cache

NEW_INDEXES = {
    "records_source_sort",
    "records_account_sort",
    "records_email_sort",
    "records_total_sort",
    "records_status_sort",
    "records_delivery_sort",
    "records_invoice_sort",
    "records_needs_sort",
    "records_date_search",
}


def fill(folder: Path, orders: int, invoices: int) -> None:
    """Orders of two stores (two currencies, some invoiced) and a seller's invoices, as synced."""
    from invoicedesk.sandbox import Sandbox

    sb = Sandbox(seed=11, orders=orders, invoices=invoices, stores=2, sellers=1)
    cache = Cache.open(folder)
    try:
        for store in sb.stores:
            docs = sb.truth_documents(store.login)
            batch = []
            for body in sb.truth_orders(store.login):
                order = parse_order(body, account=store.login)
                attached = parse_documents(docs.get(order.id, []), account=store.login)
                batch.append(replace(order, documents=tuple(attached)))
            cache.upsert(batch, documents_known=True)
        for seller in sb.sellers:
            cache.upsert(
                [
                    parse_invoice_document(
                        sb.truth_invoice_document(seller.name, int(res["id"])),
                        account=seller.name,
                        currency=seller.currency,
                    )
                    for res in sb.truth_invoices(seller.name)
                ]
            )
    finally:
        cache.close()


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("list-cache")
    fill(folder, orders=300, invoices=300)
    return folder


@pytest.fixture(scope="module")
def cache(filled: Path) -> Iterator[Cache]:
    c = Cache.open(filled)
    yield c
    c.close()


def everything(cache: Cache, query: Query = Query(), **kw: Any) -> list[Row]:
    return list(cache.iter_all(query, batch=250, **kw))


# What staff read in each column, as the order they expect (ties: the order records arrived).
NOTHING_OWED_LAST = "\U0010ffff"
STAFF_ORDER: dict[str, Callable[[Summary], Any]] = {
    "source": lambda s: s.source.value,
    "account": lambda s: s.account.lower(),
    "id": lambda s: int(s.id),
    "date": lambda s: s.date,
    "customer": lambda s: s.customer.lower(),
    "total": lambda s: (s.currency, s.total),
    "status": lambda s: s.status,
    "delivery_type": lambda s: s.delivery_type,
    "invoice": lambda s: s.invoice_public_id,
    "needs_action": lambda s: needs_label(s.needs_action).lower() if s.needs_action else NOTHING_OWED_LAST,
}


@pytest.mark.parametrize("sort", sorted(STAFF_ORDER))
def test_every_column_sorts_in_the_order_staff_read_both_ways(cache: Cache, sort: str) -> None:
    rows = everything(cache)
    assert len(rows) == cache.count() > 500
    key = STAFF_ORDER[sort]
    for descending in (False, True):
        expected = sorted(rows, key=lambda r: (key(r.summary), r.rowid), reverse=descending)
        got = everything(cache, sort=sort, descending=descending)
        assert [r.rowid for r in got] == [r.rowid for r in expected], (sort, descending)


def test_totals_sort_within_their_currency_and_needs_action_by_its_words(cache: Cache) -> None:
    rows = everything(cache, sort="total", descending=False)
    currencies = [r.summary.currency for r in rows]
    assert len(set(currencies)) >= 2
    assert currencies == sorted(currencies)  # one block per currency, amounts rising inside each
    first = next(r.summary for r in rows if r.summary.currency == currencies[-1])
    assert first.total == min(r.summary.total for r in rows if r.summary.currency == currencies[-1])

    needs = [r.summary.needs_action for r in everything(cache, sort="needs_action", descending=False)]
    owed = [n for n in needs if n]
    assert owed and needs[: len(owed)] == owed  # what is owed comes first, nothing owed last
    words = [needs_label(n) for n in owed]
    assert words == sorted(words, key=str.lower)


@pytest.mark.parametrize("sort", sorted(SORT_COLUMNS))
def test_each_sorted_page_is_read_from_an_index_in_order(cache: Cache, sort: str) -> None:
    for descending in (False, True):
        for query in (Query(), Query(needs_action=True), Query(search="a")):
            plan = cache.page_plan(query, sort=sort, descending=descending)
            assert "TEMP B-TREE" not in plan, (sort, descending, query, plan)
            assert "USING" in plan and "INDEX" in plan, plan


def test_a_cache_from_the_first_schema_opens_and_gains_the_sort_indexes(filled: Path, tmp_path: Path) -> None:
    folder = copy_cache(filled, tmp_path / "old")
    db = sqlite3.connect(folder / "cache.sqlite3")
    with db:
        for name in NEW_INDEXES:
            db.execute(f"DROP INDEX {name}")
        db.execute("PRAGMA user_version = 1")
    before = db.execute("SELECT count(*) FROM records").fetchone()[0]
    db.close()

    c = Cache.open(folder)
    try:
        assert c.count() == before
        assert c._read("PRAGMA user_version")[0][0] == len(MIGRATIONS) == 2
        names = {r[0] for r in c._read("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert NEW_INDEXES <= names
        assert "TEMP B-TREE" not in c.page_plan(sort="needs_action")
        assert c.integrity_check() == "ok"
    finally:
        c.close()


def _brute(cache: Cache, words: list[str], sort: str, descending: bool) -> list[int]:
    rows = everything(cache, sort=sort, descending=descending)
    return [r.rowid for r in rows if all(w in r.summary.search_text for w in words)]


@pytest.mark.parametrize(
    ("rare", "probe"),
    [(2000, 12_000), (3, 12_000), (3, 40), (10_000, 5)],
    ids=["default", "few-rare", "short-probe", "all-rare"],
)
def test_every_search_path_finds_the_same_records_in_the_same_order(
    cache: Cache, monkeypatch: pytest.MonkeyPatch, rare: int, probe: int
) -> None:
    # The paths (a walk of the first records in order, the trigram index for a rare word, and
    # both for the rest) are chosen by how many records match: shrink the limits to take each.
    monkeypatch.setattr(cache_records, "RARE_MATCHES", rare)
    monkeypatch.setattr(cache_records, "PROBE_ROWS", probe)
    monkeypatch.setattr(cache_records, "PROBE_ROWS_UNCOVERED", probe)
    someone = next(r.summary for r in everything(cache) if r.summary.email)
    for term in ("a", "an", "son", "e", someone.email, someone.id, "zq", "zzzz", "a e", "@ ex"):
        words = term.lower().split()
        for sort, descending in (("date", True), ("account", False), ("total", True)):
            expected = _brute(cache, words, sort, descending)
            got = [
                r.rowid
                for page in range(0, 3)
                for r in cache.fetch(
                    Query(search=term), sort=sort, descending=descending, offset=page * 40, limit=40
                )
            ]
            assert got == expected[:120], (term, sort, descending)
            assert cache.count(Query(search=term)) == len(expected)


@pytest.mark.parametrize("sort", sorted(SORT_COLUMNS))
def test_where_a_record_stands_is_counted_not_walked(cache: Cache, sort: str) -> None:
    for query in (Query(), Query(source="jumpseller")):
        for descending in (False, True):
            rows = everything(cache, query, sort=sort, descending=descending)
            for at in (0, 1, len(rows) // 2, len(rows) - 1):
                assert cache.position(query, rows[at].rowid, sort=sort, descending=descending) == at
    invoice = everything(cache, Query(source="marketplacer"))[0]
    assert cache.position(Query(source="jumpseller"), invoice.rowid) is None


# ----------------------------------------------------------------------------- the model


def test_row_of_key_is_right_after_fetching_more_and_after_a_refresh(tmp_path: Path, filled: Path) -> None:
    c = Cache.open(copy_cache(filled, tmp_path / "copy"))
    try:
        model = RecordsModel(c, page_size=50)
        model.set_query(Query())
        model.fetchMore(QModelIndex())
        assert model.rowCount() == 100

        def check() -> None:
            for row in range(model.rowCount()):
                assert model.row_of_key(record_key(model.summary(row))) == row

        check()
        # A new record at the top moves every row down one: a reset, and the keys follow.
        model.sort(Column.ID, Qt.SortOrder.DescendingOrder)
        top = model.summary(0)
        assert top is not None and top.source.value == "marketplacer"
        invoice = c.get_invoice(top.account, top.id)
        assert invoice is not None
        c.upsert([replace(invoice, id="99999999")])
        model.refresh()
        assert model.last_reset == "refresh"
        check()
        assert model.row_of_key(("marketplacer", top.account, "99999999")) == 0
        assert model.row_of_key(record_key(top)) == 1
        assert model.row_of_key(("jumpseller", "nobody", "1")) is None
    finally:
        c.close()


def test_a_record_deep_in_the_list_is_read_down_to_in_one_go(cache: Cache) -> None:
    model = RecordsModel(cache, page_size=20)
    model.set_query(Query())
    deep = everything(cache)[-3].summary
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    row = model.load_to_key(record_key(deep))
    assert row is not None and model.summary(row) == deep
    assert len(inserted) == 1  # one read, not page after page
    assert model.load_to_key(("jumpseller", "nobody", "1")) is None


def test_rows_jumped_over_are_read_when_asked_for_and_the_model_stays_sound(
    qtmodeltester, cache: Cache
) -> None:
    model = RecordsModel(cache, page_size=20)
    model.set_query(Query())
    ordered = everything(cache, sort="account", descending=False)
    picked = ordered[len(ordered) - 30].summary
    model.selected_key = record_key(picked)
    model.sort(Column.ACCOUNT, Qt.SortOrder.AscendingOrder)
    row = model.row_of_key(record_key(picked))
    assert row == len(ordered) - 30
    assert 40 < model.rowCount() < len(ordered)  # the first page, nothing between, its page
    assert len(model._row_of) <= 40  # only two pages were read
    qtmodeltester.check(model, force_py=True)
    all_rows(model)
    assert [model.summary(i) for i in range(model.rowCount())] == [r.summary for r in ordered]
    assert all(model.row_of_key(record_key(r.summary)) == i for i, r in enumerate(ordered))


def all_rows(model: RecordsModel) -> None:
    while model.canFetchMore():
        model.fetchMore()


def test_a_sort_keeps_the_selected_record_loaded(cache: Cache) -> None:
    model = RecordsModel(cache, page_size=20)
    model.set_query(Query())
    picked = everything(cache, sort="customer", descending=True)[-7].summary  # last in that order
    model.selected_key = record_key(picked)
    model.sort(Column.CUSTOMER, Qt.SortOrder.DescendingOrder)
    assert model.last_reset == "sort"
    row = model.row_of_key(record_key(picked))
    assert row is not None and model.summary(row) == picked
    assert model.headerData(Column.DATE, Qt.Orientation.Horizontal, Qt.ItemDataRole.InitialSortOrderRole) == (
        Qt.SortOrder.DescendingOrder.value
    )


# ----------------------------------------------------------------------------- the window


@pytest.fixture
def window(qtbot, qrun, filled: Path, tmp_path: Path) -> Iterator[Any]:
    from invoicedesk.actions import Actions
    from invoicedesk.config import Config, StaticSecrets
    from invoicedesk.services import Services
    from invoicedesk.sync import Syncer
    from invoicedesk.ui.main_window import MainWindow

    folder = copy_cache(filled, tmp_path / "desk")
    c = Cache.open(folder)
    # The cache's stores, configured (a window without any account shows the welcome instead);
    # nothing answers at that address, and no sync is started.
    from invoicedesk.config import JumpsellerAccount

    names = sorted({r.summary.account for r in c.iter_all(Query(source="jumpseller"))})
    stores = tuple(JumpsellerAccount(n, n, api_url="http://127.0.0.1:9/v1") for n in names)
    services = Services(Config(jumpseller=stores), StaticSecrets(), folder)
    w = MainWindow(services, c, Syncer(services, c), Actions(services, c), sync_on_start=False)
    w.show()  # closed below, after its shutdown (not by qtbot, which would close it first)
    qtbot.waitExposed(w)
    w.resize(1500, 900)  # wide: every column shown (a narrow window hides the lesser ones)
    qtbot.waitUntil(lambda: not w.table.horizontalHeader().isSectionHidden(Column.ACCOUNT))
    yield w
    qrun(w.shutdown())
    qrun(services.aclose())
    w.close()
    c.close()
    w.deleteLater()


def click_header(qtbot, window: Any, column: Column) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    hh = window.table.horizontalHeader()
    x = hh.sectionViewportPosition(column) + hh.sectionSize(column) // 2
    QTest.mouseClick(hh.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, hh.height() // 2))


def shown_row(window: Any) -> int:
    """The selected row, checked to be the only one selected and on screen."""
    table = window.table
    rows = {i.row() for i in table.selectionModel().selectedRows()}
    row = table.currentIndex().row()
    assert rows == {row}
    assert table.viewport().rect().intersects(table.visualRect(window.model.index(row, Column.ID)))
    return row


def test_staff_sort_by_any_column_and_the_selected_record_stays_selected_in_view(qtbot, window) -> None:
    deep = everything(window.cache)[450].summary  # beyond the first page the list reads
    key = record_key(deep)
    assert window.select_record(*key)
    qtbot.waitUntil(lambda: window.selected_record is not None)
    assert record_key(window.model.summary(shown_row(window))) == key

    hh = window.table.horizontalHeader()
    for column in (Column.ACCOUNT, Column.TOTAL, Column.NEEDS_ACTION, Column.CUSTOMER, Column.DATE):
        click_header(qtbot, window, column)
        first = hh.sortIndicatorOrder()
        assert window.model.sort_column == column
        assert record_key(window.model.summary(shown_row(window))) == key, column
        click_header(qtbot, window, column)  # the other way round
        assert hh.sortIndicatorOrder() != first
        assert record_key(window.model.summary(shown_row(window))) == key, column
        assert window.selected_record is not None and str(window.selected_record.id) == deep.id


def test_date_opens_newest_first_and_its_first_click_keeps_newest_first(qtbot, window) -> None:
    hh = window.table.horizontalHeader()
    assert (hh.sortIndicatorSection(), hh.sortIndicatorOrder()) == (Column.DATE, Qt.SortOrder.DescendingOrder)
    click_header(qtbot, window, Column.ACCOUNT)
    assert hh.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
    click_header(qtbot, window, Column.DATE)  # a first click on Date: newest first, as it opened
    assert hh.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder and window.model.descending
    dates = [window.model.summary(i).date for i in range(window.model.rowCount())]
    assert dates == sorted(dates, reverse=True)


def test_the_sort_arrow_points_down_for_newest_first_and_up_for_oldest_first(qtbot, window) -> None:
    from PySide6.QtWidgets import QStyleOptionHeader

    hh = window.table.horizontalHeader()

    def arrow() -> QStyleOptionHeader.SortIndicator:
        option = QStyleOptionHeader()
        hh.initStyleOptionForIndex(option, Column.DATE)
        return option.sortIndicator

    assert hh.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert arrow() == QStyleOptionHeader.SortIndicator.SortDown  # ▼ newest first
    window.table.sortByColumn(Column.DATE, Qt.SortOrder.AscendingOrder)
    assert arrow() == QStyleOptionHeader.SortIndicator.SortUp  # ▲ oldest first


def test_where_a_record_stands_can_be_asked_within_a_time_limit(cache: Cache) -> None:
    query = Query(source="jumpseller")
    rows = everything(cache, query, sort="customer")
    at = len(rows) - 5
    # No time at all: the answer is given up (None), or it came before the first look at the clock.
    assert cache.position(query, rows[at].rowid, sort="customer", descending=True, within=0) in (None, at)
    assert cache.position(query, rows[at].rowid, sort="customer", descending=True, within=60) == at
    # The connection is left as it was: later reads are not cut short.
    assert cache.count(query) == len(rows)


@pytest.mark.parametrize(
    ("walk_from", "within"), [(1, 60.0), (1, 0.0), (10**9, 60.0)], ids=["walk", "walk-gives-way", "sort-few"]
)
def test_a_filtered_list_sorts_right_whichever_way_it_is_read(
    cache: Cache, monkeypatch: pytest.MonkeyPatch, walk_from: int, within: float
) -> None:
    # Filters keeping many records walk the sort's index; a walk that takes too long, or
    # filters keeping few, sort the filtered records instead.
    monkeypatch.setattr(cache_records, "WALK_FROM", walk_from)
    monkeypatch.setattr(cache_records, "WALK_WITHIN", within)
    account = everything(cache, Query(source="jumpseller"))[0].summary.account
    for query in (Query(source="jumpseller"), Query(account=account), Query(status="paid", search="a")):
        for sort in ("account", "total", "date", "needs_action"):
            key = STAFF_ORDER[sort]
            matching = [
                r
                for r in everything(cache)
                if (not query.source or r.summary.source.value == query.source)
                and (not query.account or r.summary.account == query.account)
                and (not query.status or r.summary.status == query.status)
                and all(w in r.summary.search_text for w in query.search.split())
            ]
            expected = [r.rowid for r in sorted(matching, key=lambda r: (key(r.summary), r.rowid))]
            got = [r.rowid for r in cache.fetch(query, sort=sort, descending=False, limit=50, offset=10)]
            assert got == expected[10:60], (query, sort)
            if walk_from == 1 and not query.search:
                assert "TEMP B-TREE" not in cache.page_plan(query, sort=sort, descending=False)


def test_a_refresh_after_a_sync_keeps_a_record_selected_deep_in_the_list(
    tmp_path: Path, filled: Path
) -> None:
    c = Cache.open(copy_cache(filled, tmp_path / "copy"))
    try:
        model = RecordsModel(c, page_size=20)
        model.set_query(Query())
        deep = everything(c)[-10].summary
        model.selected_key = record_key(deep)
        assert model.load_to_key(record_key(deep)) is not None
        # The sync brings a new record: every row moves down one, and the list is reset.
        top = everything(c, Query(source="marketplacer"))[0].summary
        invoice = c.get_invoice(top.account, top.id)
        assert invoice is not None
        c.upsert([replace(invoice, id="99999999")])
        model.refresh()
        assert model.last_reset == "refresh"
        row = model.row_of_key(record_key(deep))
        assert row is not None and model.summary(row) == deep
        assert [model.summary(i) for i in range(model.rowCount())] == [
            r.summary for r in everything(c)[: model.rowCount()]
        ]
    finally:
        c.close()
