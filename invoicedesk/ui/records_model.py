"""The combined list of orders and invoices, read from the cache a page at a time.

Filtering, sorting and paging all happen in SQL (``Cache.fetch``): the model holds only the
rows the view has asked for so far (``canFetchMore``/``fetchMore``), so the first screenful
costs the same with 1,000 or 100,000 cached records. There is deliberately no
``QSortFilterProxyModel``: sorting 100k rows through one makes millions of calls into
``data()`` and takes tens of seconds; ``sort()`` re-queries instead.

Display strings are built lazily, the first time a row is painted, and kept with the row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QLocale,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QFontMetrics, QIcon
from PySide6.QtWidgets import QHeaderView, QStyledItemDelegate, QStyleOptionHeader, QStyleOptionViewItem

from invoicedesk.cache import Cache, CacheError, Query, Row
from invoicedesk.domain import (
    DELIVERY_LABELS,
    INVOICE_STATUS_LABELS,
    ORDER_STATUS_LABELS,
    Key,  # re-exported: the UI imports Key and record_key from here
    Source,
    Summary,
    record_key,
)
from invoicedesk.money import format_money
from invoicedesk.needs import label as needs_label
from invoicedesk.textsafe import capped

PAGE_SIZE = 100
"""Rows read at a time: twice a full-height list on a 1080p screen (a 4K one fetches more as
it lays out). Reading 200 cost a search 2 to 3 ms more than 100."""
REFRESH_MAX = 2000
KEEP_WITHIN = 0.04
"""Seconds a sort may spend finding where the selected record landed (a filtered list of
100,000 records can take longer: the selection is then let go, as a new query does)."""
SortRole = int(Qt.ItemDataRole.UserRole) + 1
KeyRole = int(Qt.ItemDataRole.UserRole) + 2

AnyIndex = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    SOURCE = 0
    ACCOUNT = 1
    ID = 2
    DATE = 3
    CUSTOMER = 4
    TOTAL = 5
    STATUS = 6
    DELIVERY = 7
    INVOICE = 8
    NEEDS_ACTION = 9


HEADERS: dict[Column, str] = {
    Column.SOURCE: "Source",
    Column.ACCOUNT: "Account",
    Column.ID: "Number",
    Column.DATE: "Date",
    Column.CUSTOMER: "Customer",
    Column.TOTAL: "Total",
    Column.STATUS: "Status",
    Column.DELIVERY: "Delivery",
    Column.INVOICE: "Invoice",
    Column.NEEDS_ACTION: "Needs action",
}

HEADER_TIPS: dict[Column, str] = {
    Column.SOURCE: "Jumpseller order or Marketplacer invoice",
    Column.ID: "Order number (Jumpseller) or invoice number (Marketplacer)",
    Column.DATE: "When the order was placed, or the invoice paid (your local time)",
    Column.INVOICE: "The invoice attached to a Jumpseller order",
    Column.NEEDS_ACTION: "What this record is waiting for",
}

# The cache's sort keys (``cache.SORT_COLUMNS``) per column.
SORT_KEYS: dict[Column, str] = {
    Column.SOURCE: "source",
    Column.ACCOUNT: "account",
    Column.ID: "id",
    Column.DATE: "date",
    Column.CUSTOMER: "customer",
    Column.TOTAL: "total",
    Column.STATUS: "status",
    Column.DELIVERY: "delivery_type",
    Column.INVOICE: "invoice",
    Column.NEEDS_ACTION: "needs_action",
}

SOURCE_LABELS = {Source.JUMPSELLER: "Jumpseller", Source.MARKETPLACER: "Marketplacer"}
SOURCE_TIPS = {Source.JUMPSELLER: "Jumpseller order", Source.MARKETPLACER: "Marketplacer invoice"}

# Jumpseller's ``shipping_option`` in staff words; Marketplacer's delivery types come from the domain.
ORDER_DELIVERY_LABELS = {
    "delivery": "Delivery",
    "store_pickup": "Store pickup",
    "no_shipping": "No shipping",
    "": "",
}


def delivery_label(summary: Summary) -> str:
    if summary.source is Source.JUMPSELLER:
        return ORDER_DELIVERY_LABELS.get(summary.delivery_type, summary.delivery_type.replace("_", " "))
    return DELIVERY_LABELS.get(summary.delivery_type, summary.delivery_type)


def status_label(summary: Summary) -> str:
    """The status in the window's words; a store's own (translated) words go in the tooltip."""
    labels = ORDER_STATUS_LABELS if summary.source is Source.JUMPSELLER else INVOICE_STATUS_LABELS
    return labels.get(summary.status) or summary.status_label or summary.status


def money_locale(locale: QLocale | None = None) -> str:
    """The user's locale as Babel spells it; the C locale (CI, containers) reads as en_US."""
    name = (locale or QLocale.system()).name()
    return "en_US" if name in ("C", "") else name


def format_date(when: datetime | None) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M") if when is not None else ""


def warm_up(locale: str) -> None:
    """Load Babel's locale data and Python's date parser (tens of ms, once per process)."""
    format_money(Decimal("1"), "USD", locale)
    datetime.strptime("2000-01-01", "%Y-%m-%d")


def display_texts(summary: Summary, locale: str, *, syncing: bool = False) -> tuple[str, ...]:
    """The row as staff read it, one string per column (also Ctrl+C and the CSV export);
    ``syncing``: an order whose documents are not read yet says "Checking…"."""
    return (
        SOURCE_LABELS.get(summary.source, summary.source.value),
        summary.account,
        summary.id,
        format_date(summary.date),
        summary.customer,
        format_money(summary.total, summary.currency, locale) if summary.total is not None else "—",
        status_label(summary),
        delivery_label(summary),
        summary.invoice_public_id,
        needs_label(summary.needs_action, syncing=syncing) if summary.needs_action else "",
    )


_NCOLS = len(Column)
_CELL_LIMIT = 300  # characters of one cell's text or tooltip (Ctrl+C still copies all of it)
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_USER = int(Qt.ItemDataRole.UserRole)
_SORT = SortRole
_KEY = KeyRole
_TOTAL_COL = int(Column.TOTAL)
_SOURCE_COL = int(Column.SOURCE)
_NEEDS_COL = int(Column.NEEDS_ACTION)
#: The roles some cell answers besides its text; the view's other questions get ``None`` at once.
_CELL_ROLES = frozenset({_ALIGN, _DECORATION, _FONT, _TOOLTIP, _SORT, _USER, _KEY})
_ITEM_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_NO_FLAGS = Qt.ItemFlag.NoItemFlags


_Feature = QStyleOptionViewItem.ViewItemFeature


class RecordsDelegate(QStyledItemDelegate):
    """Paints the list's cells from the model's rows with one call into Python per cell.

    Qt's own delegate asks the model seven roles of every cell it paints, each a call from C++
    into Python (a 1920 px list is ~360 cells, ~2,500 calls a paint). This one fills the style
    option from the row directly, as :meth:`QStyledItemDelegate.initStyleOption` would from
    those roles: the text (line breaks shown as Qt shows them), the total's right alignment,
    the service icon and the bold "Needs action". The pixels are the same. Indexes of another
    model, or cells whose row is not readable, go the usual way.
    """

    def __init__(self, model: RecordsModel, parent: Any = None) -> None:
        super().__init__(parent)
        self._model = model
        # The view hands features as an enum; combining enums in Python costs a microsecond.
        self._with_text: dict[Any, Any] = {}
        self._with_icon: dict[Any, Any] = {}
        self._font_in: QFont | None = None
        self._bold = QFont()
        self._bold_metrics: QFontMetrics | None = None
        self._icon_sizes: dict[Source, Any] = {}

    def initStyleOption(self, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        model = self._model
        if index.model() is not model:
            super().initStyleOption(option, index)
            return
        line = model._line_at(index)
        if line is None:
            super().initStyleOption(option, index)
            return
        col = index.column()
        text = model._cell_text(line, col)
        if "\n" in text:  # as Qt's delegate shows a line break on one line
            text = text.replace("\n", "\u2028")
        option.text = text
        features = option.features
        table = self._with_text
        if col == _SOURCE_COL:
            source = line.summary.source
            icon = model._icon(source)
            if icon is not None:
                option.icon = icon
                size = self._icon_sizes.get(source)
                if size is None:
                    size = self._icon_sizes[source] = icon.actualSize(option.decorationSize)
                option.decorationSize = size
                table = self._with_icon
        elif col == _TOTAL_COL:
            option.displayAlignment = model._align_right
        elif col == _NEEDS_COL and line.summary.needs_action:
            self._set_bold(option)
        combined = table.get(features)
        if combined is None:
            extra = _Feature.HasDisplay
            if table is self._with_icon:
                extra |= _Feature.HasDecoration
            combined = table[features] = features | extra
        option.features = combined

    def _set_bold(self, option: QStyleOptionViewItem) -> None:
        font = option.font
        if font != self._font_in or self._bold_metrics is None:
            # As Qt resolves a cell's font role against the view's font. (``option.font`` is
            # the option's own member, gone with the option: kept as a copy.)
            self._font_in = QFont(font)
            self._bold = self._model._bold.resolve(font)
            self._bold_metrics = QFontMetrics(self._bold)
        option.font = self._bold
        option.fontMetrics = self._bold_metrics


class ListHeader(QHeaderView):
    """The list's column headers, whose sort arrow points the way staff read it.

    Qt asks the style for a downward arrow when a column sorts ascending (values grow down the
    list) and an upward one for descending. Staff read it the other way, as spreadsheets and
    file managers draw it: ▲ for A to Z and smallest first, ▼ for newest or largest first.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setSectionsClickable(True)  # as the view's own header: a click sorts

    def initStyleOptionForIndex(self, option: QStyleOptionHeader, logicalIndex: int) -> None:
        super().initStyleOptionForIndex(option, logicalIndex)
        arrow = QStyleOptionHeader.SortIndicator
        if option.sortIndicator == arrow.SortUp:
            option.sortIndicator = arrow.SortDown
        elif option.sortIndicator == arrow.SortDown:
            option.sortIndicator = arrow.SortUp


@dataclass(slots=True)
class _Line:
    rowid: int
    summary: Summary
    texts: tuple[str, ...] | None = field(default=None)


class _ReadGuard:
    """The list's reads of the cache. Qt calls the model while it paints, where an exception
    cannot be handled: a read that fails (a damaged page, a disk gone) leaves the list as it is
    and hands the error to ``failed`` (the window says what happened and what to do)."""

    def __init__(self, cache: Cache, failed: Callable[[object], None]) -> None:
        self._cache = cache
        self._failed = failed

    def guard(self, read: Callable[[], Any], default: Any) -> Any:
        try:
            return read()
        except CacheError as exc:
            self._failed(exc)
            return default

    def count(self, query: Query) -> int:
        return int(self.guard(lambda: self._cache.count(query), 0))

    def fetch(self, query: Query, **kw: Any) -> list[Row]:
        return list(self.guard(lambda: self._cache.fetch(query, **kw), []))

    def row(self, rowid: int) -> Row | None:
        got: Row | None = self.guard(lambda: self._cache.row(rowid), None)
        return got

    def find_rowid(self, *key: str) -> int | None:
        got: int | None = self.guard(lambda: self._cache.find_rowid(*key), None)
        return got

    def position(self, query: Query, rowid: int, **kw: Any) -> int | None:
        got: int | None = self.guard(lambda: self._cache.position(query, rowid, **kw), None)
        return got


@dataclass(frozen=True, slots=True)
class RefreshRead:
    """The rows a refresh re-reads: the list's query, order and length when it was made."""

    query: Query
    sort: str
    descending: bool
    wanted: int
    generation: int

    def run(self, cache: Cache) -> list[Row]:
        """Read them from ``cache`` (any connection); a failed read raises :class:`CacheError`."""
        return cache.fetch(
            self.query, sort=self.sort, descending=self.descending, offset=0, limit=self.wanted
        )


class RecordsModel(QAbstractTableModel):
    """Rows of ``cache.fetch(query, sort, descending)``, loaded ``PAGE_SIZE`` at a time."""

    readFailed = Signal(object)
    """A read of the cache failed (a :class:`CacheError`); the list stays as it was."""

    def __init__(
        self,
        cache: Cache,
        *,
        locale: str | None = None,
        icons: Callable[[Source], QIcon | None] | None = None,
        page_size: int = PAGE_SIZE,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._cache = cache
        self._reads = _ReadGuard(cache, self.readFailed.emit)
        self._locale = locale or money_locale()
        self._icon_for = icons
        self._icons: dict[Source, QIcon | None] = {}
        self._page = page_size
        self._query = Query()
        self._sort = Column.DATE
        self._descending = True
        # A row is None until read: a sort or a link may jump deep into the list, and the rows
        # it jumps over are read a page at a time once the view paints them.
        self._lines: list[_Line | None] = []
        self._index_of: dict[int, int] = {}
        self._row_of: dict[Key, int] = {}
        self.selected_key: Key | None = None
        """The record the window shows; a sort keeps it in the list."""
        self.last_reset = "query"
        """Why the model was last reset: "query", "sort" or "refresh"."""
        self._exhausted = True
        self._loaded = False
        self._count: int | None = None
        # Bumped whenever the loaded rows change shape (a new query or order, more rows): a
        # refresh read made before that is dropped, not applied.
        self._generation = 0
        self._syncing = False
        self._bold = QFont()
        self._bold.setBold(True)
        self._align_right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        self._align_left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter

    # ------------------------------------------------------------------ what is shown

    @property
    def query(self) -> Query:
        return self._query

    @property
    def sort_column(self) -> Column:
        return self._sort

    @property
    def descending(self) -> bool:
        return self._descending

    def set_query(self, query: Query) -> None:
        """Show another selection of records (the filter bar's doing)."""
        self._query = query
        self._reload(self._page)

    def total_count(self) -> int:
        """How many records match the query (all of them, not only the rows loaded so far)."""
        if self._count is None:
            self._count = self._reads.count(self._query)
        return self._count

    def known_count(self) -> int | None:
        """The number of matches if known without a query (all loaded, or counted before)."""
        if self._count is not None:
            return self._count
        if self._exhausted:
            return len(self._lines)
        return None

    def set_count(self, query: Query, count: int) -> None:
        """A count made elsewhere (off the GUI thread) for ``query``; ignored if it changed since."""
        if query == self._query:
            self._count = count

    def set_syncing(self, syncing: bool) -> None:
        """A sync started or ended: orders not checked yet read "Checking…" only meanwhile."""
        if syncing == self._syncing:
            return
        self._syncing = syncing
        rows = [i for i, line in enumerate(self._lines) if line.summary.needs_action == "not_checked"]
        for i in rows:
            self._lines[i].texts = None
        if rows:
            self.dataChanged.emit(self.index(min(rows), _NEEDS_COL), self.index(max(rows), _NEEDS_COL))

    def loaded_count(self) -> int:
        return len(self._lines)

    def _reload(self, how_many: int, reason: str = "query", keep: Key | None = None) -> None:
        self._loaded = True
        self.last_reset = reason
        self.beginResetModel()
        self._count = None
        self._clear()
        self._exhausted = False
        self._load(max(how_many, self._page))
        self._keep(keep)
        self.endResetModel()

    def _keep(self, key: Key | None) -> None:
        """Read the page of a record past the loaded rows (the selection, after a sort or a
        refresh), if where it stands is found within ``KEEP_WITHIN``."""
        if key is None or key in self._row_of or self._exhausted:
            return
        at = self._position_of(key, within=KEEP_WITHIN)
        if at is not None and at >= len(self._lines):
            self._jump(at)

    def _jump(self, at: int) -> int:
        """Read the page holding row ``at`` past the loaded rows; the rows between stay unread.

        Returns how many rows were read (callers wrap it in insert/reset signals).
        """
        first = len(self._lines)
        start = max(first, at - at % self._page)
        rows = self._fetch(start, self._page)
        if len(rows) < self._page:
            self._exhausted = True
        if rows:
            self._lines.extend([None] * (start - first))
            self._append(rows)
        return len(rows)

    def _fill(self, row: int) -> _Line | None:
        """Read the page holding an unread row (the view is painting it)."""
        start = row - row % self._page
        for i, r in enumerate(self._fetch(start, self._page), start):
            if i < len(self._lines) and self._lines[i] is None:
                self._lines[i] = _Line(r.rowid, r.summary)
                self._index_of[r.rowid] = self._row_of[record_key(r.summary)] = i
        return self._lines[row]

    def _line(self, row: int) -> _Line | None:
        if not 0 <= row < len(self._lines):
            return None
        line = self._lines[row]
        return line if line is not None else self._fill(row)

    def _clear(self) -> None:
        self._generation += 1
        self._lines = []
        self._index_of = {}
        self._row_of = {}

    def _position_of(self, key: Key, within: float | None = None) -> int | None:
        rowid = self._reads.find_rowid(*key)
        if rowid is None:
            return None
        return self._reads.position(
            self._query, rowid, sort=SORT_KEYS[self._sort], descending=self._descending, within=within
        )

    def _fetch(self, offset: int, limit: int) -> list[Row]:
        return self._reads.fetch(
            self._query,
            sort=SORT_KEYS[self._sort],
            descending=self._descending,
            offset=offset,
            limit=limit,
        )

    def _load(self, limit: int) -> int:
        """Append up to ``limit`` rows from the cache (callers wrap it in insert/reset signals)."""
        rows = self._fetch(len(self._lines), limit)
        if len(rows) < limit:
            self._exhausted = True
        self._append(rows)
        return len(rows)

    def _append(self, rows: Iterable[Row]) -> None:
        self._generation += 1
        lines = self._lines
        for row in rows:
            self._index_of[row.rowid] = self._row_of[record_key(row.summary)] = len(lines)
            lines.append(_Line(row.rowid, row.summary))

    # ------------------------------------------------------------------ refreshing

    def refresh(self) -> None:
        """Re-read what is loaded after a sync: in place when the rows stay where they are.

        The same records in the same order (statuses changed, nothing new) → the changed
        rows are replaced and one ranged ``dataChanged`` is emitted, so the view keeps its
        selection, scroll position and current index. Anything else (new records, a new
        order) → a reset to as many rows as were loaded; the window reselects by key.
        """
        read = self.refresh_read()
        self.apply_refresh(read, self._reads.guard(lambda: read.run(self._cache), None))

    def refresh_read(self) -> RefreshRead:
        """What :meth:`refresh` reads, to run elsewhere (a thread with its own connection):
        the window re-reads during and after a sync without the GUI thread waiting on it."""
        # Re-reading costs ~40 µs a row: someone scrolled 20,000 rows deep gets the first
        # REFRESH_MAX back rather than a one-second freeze.
        wanted = min(max(len(self._lines), self._page), REFRESH_MAX)
        return RefreshRead(self._query, SORT_KEYS[self._sort], self._descending, wanted, self._generation)

    def apply_refresh(self, read: RefreshRead, rows: list[Row] | None) -> bool:
        """Show what ``read`` found; ``False`` (nothing changed) when the list was reset, sorted
        or searched since it was made, or the read failed (``None``)."""
        if rows is None or read.generation != self._generation:
            return False
        wanted = read.wanted
        self._count = None
        same = len(rows) == len(self._lines) and all(
            line is not None and r.rowid == line.rowid for r, line in zip(rows, self._lines, strict=True)
        )
        if not same:
            self.last_reset = "refresh"
            self.beginResetModel()
            self._clear()
            self._exhausted = len(rows) < wanted
            self._append(rows)
            self._keep(self.selected_key)
            self.endResetModel()
            return True
        # Same rowids in the same places: every line is read (``same`` checked it).
        changed = [
            i
            for i, (r, line) in enumerate(zip(rows, self._lines, strict=True))
            if line is not None and r.summary != line.summary
        ]
        for i in changed:
            self._lines[i] = _Line(rows[i].rowid, rows[i].summary)
        self._emit_changed(changed)
        return True

    def refresh_rows(self, rowids: Sequence[int]) -> list[int]:
        """Re-read these records (an action changed them) in place; returns the rows updated."""
        updated: list[int] = []
        for rowid in rowids:
            i = self._index_of.get(rowid)
            if i is None:
                continue
            row = self._reads.row(rowid)
            if row is None:
                continue
            self._lines[i] = _Line(row.rowid, row.summary)
            updated.append(i)
        self._emit_changed(updated)
        return updated

    def refresh_keys(self, keys: Iterable[Key]) -> list[int]:
        rowids = [r for r in (self._reads.find_rowid(*k) for k in keys) if r is not None]
        return self.refresh_rows(rowids)

    def _emit_changed(self, rows: Sequence[int]) -> None:
        if not rows:
            return
        top = self.index(min(rows), 0)
        bottom = self.index(max(rows), len(Column) - 1)
        self.dataChanged.emit(top, bottom)

    # ------------------------------------------------------------------ lookups

    def summary(self, row: int) -> Summary | None:
        line = self._line(row)
        return line.summary if line is not None else None

    def rowid(self, row: int) -> int | None:
        line = self._line(row)
        return line.rowid if line is not None else None

    def row_of_key(self, key: Key) -> int | None:
        """The row of a loaded record (a dict kept with the rows: no walk through the list)."""
        return self._row_of.get(key)

    def load_to_key(self, key: Key) -> int | None:
        """The row of a record in the list, reading the list down to it if needed.

        Where it stands comes from one count in the cache, then only its page is read (the
        rows before it are read when the view paints them): no page after page of reads until
        it shows up. ``None`` when the current query leaves the record out.
        """
        row = self._row_of.get(key)
        if row is not None:
            return row
        at = self._position_of(key)
        if at is None:
            return None
        if at < len(self._lines):
            self._fill(at)  # among the rows jumped over
            return self._row_of.get(key)
        if self._exhausted:
            return None
        first = len(self._lines)
        start = max(first, at - at % self._page)
        rows = self._fetch(start, self._page)
        if not rows:
            return None
        self.beginInsertRows(QModelIndex(), first, start + len(rows) - 1)
        self._lines.extend([None] * (start - first))
        self._append(rows)
        self.endInsertRows()
        if len(rows) < self._page:
            self._exhausted = True
        return self._row_of.get(key)

    def row_of_rowid(self, rowid: int) -> int | None:
        return self._index_of.get(rowid)

    def texts(self, row: int) -> tuple[str, ...]:
        line = self._line(row)
        if line is None:
            return ("",) * _NCOLS
        if line.texts is None:
            line.texts = display_texts(line.summary, self._locale, syncing=self._syncing)
        return line.texts

    def iter_rows(self) -> Iterator[Row]:
        """Every record of the current query in the current order (export), not only loaded ones."""
        return self._cache.iter_all(self._query, sort=SORT_KEYS[self._sort], descending=self._descending)

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._lines)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else _NCOLS

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:
        if parent.isValid() or self._exhausted:
            return
        rows = self._fetch(len(self._lines), self._page)
        if len(rows) < self._page:
            self._exhausted = True
        if not rows:
            return
        first = len(self._lines)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._append(rows)
        self.endInsertRows()

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        col = Column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self._align_right if col == Column.TOTAL else self._align_left
        if role == Qt.ItemDataRole.InitialSortOrderRole:
            # The first click on Date shows the newest first, as the list opens.
            first = Qt.SortOrder.DescendingOrder if col == Column.DATE else Qt.SortOrder.AscendingOrder
            return first.value
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        return _ITEM_FLAGS if index.isValid() else _NO_FLAGS

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # The view asks seven roles of every cell it paints (a call from C++ into Python each,
        # some microseconds): roles no cell has end at once, and the row is looked up only for
        # the roles that read it. Plain int comparisons against module constants.
        if role == _DISPLAY:
            line = self._line_at(index)
            return None if line is None else self._cell_text(line, index.column())
        if role not in _CELL_ROLES:
            return None
        if role == _ALIGN:
            return self._align_right if index.column() == _TOTAL_COL else None
        if role == _DECORATION:
            if index.column() != _SOURCE_COL:
                return None
            line = self._line_at(index)
            return None if line is None else self._icon(line.summary.source)
        if role == _FONT:
            if index.column() != _NEEDS_COL:
                return None
            line = self._line_at(index)
            return self._bold if line is not None and line.summary.needs_action else None
        line = self._line_at(index)
        if line is None:
            return None
        if role == _TOOLTIP:
            tip = self._tooltip(line.summary, Column(index.column()), self._syncing)
            return capped(tip, _CELL_LIMIT) if tip else tip
        if role == _SORT:
            return self._sort_value(line.summary, Column(index.column()))
        if role == _USER:
            return line.summary
        return record_key(line.summary)  # _KEY

    def _cell_text(self, line: _Line, col: int) -> str:
        """What a cell shows: the row's text for the column, formatted once per row."""
        texts = line.texts
        if texts is None:
            texts = line.texts = display_texts(line.summary, self._locale, syncing=self._syncing)
        text = texts[col]
        # A cell shows a few dozen characters; eliding a 10 MB name took seconds per paint.
        return text if len(text) <= _CELL_LIMIT else capped(text, _CELL_LIMIT)

    def _line_at(self, index: AnyIndex) -> _Line | None:
        """The loaded line of a valid cell (read now if its page was dropped), else ``None``."""
        row = index.row()
        lines = self._lines
        if not 0 <= row < len(lines) or not 0 <= index.column() < _NCOLS:
            return None
        line = lines[row]
        return line if line is not None else self._fill(row)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in SQL: re-query from the top with the new ORDER BY (an index walk per column).

        The selected record stays in the list: the rows down to it are read in the same reset.
        Totals sort within their currency; "Needs action" by the words shown, nothing owed last.
        """
        if not 0 <= column < len(Column):
            return
        col = Column(column)
        descending = order == Qt.SortOrder.DescendingOrder
        if col == self._sort and descending == self._descending and self._loaded:
            return
        self._sort = col
        self._descending = descending
        if self._loaded:  # before the first set_query there is nothing to re-read yet
            self._reload(self._page, "sort", keep=self.selected_key)

    # ------------------------------------------------------------------ helpers

    def _icon(self, source: Source) -> QIcon | None:
        if self._icon_for is None:
            return None
        if source not in self._icons:
            self._icons[source] = self._icon_for(source)
        return self._icons[source]

    @staticmethod
    def _sort_value(s: Summary, col: Column) -> Any:
        return {
            Column.SOURCE: s.source.value,
            Column.ACCOUNT: s.account,
            Column.ID: int(s.id) if s.id.isdigit() else s.id,
            Column.DATE: s.date,
            Column.CUSTOMER: s.customer,
            Column.TOTAL: s.total,
            Column.STATUS: s.status,
            Column.DELIVERY: s.delivery_type,
            Column.INVOICE: s.invoice_public_id,
            Column.NEEDS_ACTION: s.needs_action,
        }[col]

    @staticmethod
    def _tooltip(s: Summary, col: Column, syncing: bool = False) -> str | None:
        if col == Column.SOURCE:
            tip = SOURCE_TIPS.get(s.source, s.source.value)
            if s.problems_count:
                tip += f"\n{s.problems_count} field(s) arrived in an unexpected form; see the details."
            return tip
        if col == Column.CUSTOMER:
            return "\n".join(p for p in (s.customer, s.email) if p) or None
        if col == Column.TOTAL and s.total is not None:
            return f"{s.total} {s.currency}".strip()
        if col == Column.STATUS and s.status_label and s.status_label != status_label(s):
            return f"{status_label(s)} (the store says “{s.status_label}”)"
        if col == Column.INVOICE:
            return s.invoice_url or None
        if col == Column.NEEDS_ACTION and s.needs_action:
            return needs_label(s.needs_action, syncing=syncing)
        return None
