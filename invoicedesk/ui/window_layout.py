"""How the main window fits the screen it is on, from a laptop's 1280×720 to half of a wide one.

Three rules, kept apart from the window so they can be checked with plain numbers:

- **Size and place.** A first start opens at 90% of the screen's available area (capped at
  1600×1000), centred; a remembered geometry is restored and then pulled back inside the
  screen, so a window saved on a big monitor never opens with its status bar off a laptop's
  edge (:func:`default_rect`, :func:`fit_rect`).
- **Details beside or under the list.** At :data:`SIDE_BY_SIDE_MIN` pixels wide and more the
  details sit to the right of the list; below it they move under the list, which then has the
  whole width (:func:`orientation_for`).
- **The columns that matter stay in view.** Number, customer, total, status and needs action
  are never scrolled sideways; when the list is narrower than every column together, the less
  important ones are hidden in a fixed order (:func:`columns_to_hide`) and come back when there
  is room again. Columns staff hid or sized themselves are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QTableView,
    QToolBar,
    QWidget,
)

from invoicedesk.ui.records_model import Column

SIDE_BY_SIDE_MIN = 1100  # window width from which the details sit beside the list
DEFAULT_SHARE = 0.9  # a first start takes this much of the screen's available area
DEFAULT_CAP = QSize(1600, 1000)  # ... but no more: a 4K screen does not need a 3456 px window
MIN_SIZE = QSize(720, 480)  # half of a 1440 px screen still works
LIST_SHARE = 0.66  # side by side, the list takes about two thirds of the width
LIST_SHARE_UNDER = 0.55  # details under the list: a little more than half for the list
SEARCH_MIN_WIDTH = 150  # the search box gives way before the window refuses to get narrower
SYNC_TEXT_MIN_WIDTH = 60  # the status bar's sync words and progress bar shrink to this
COMBO_MIN_CHARS = 10  # filter choices elide ("All stores an…") rather than widen the window

# Never hidden: what staff read to decide what to do next.
KEY_COLUMNS: frozenset[Column] = frozenset(
    {Column.ID, Column.CUSTOMER, Column.TOTAL, Column.STATUS, Column.NEEDS_ACTION}
)
# Hidden first to last when the list runs out of width; shown again in the reverse order.
HIDE_ORDER: tuple[Column, ...] = (
    Column.INVOICE,
    Column.DELIVERY,
    Column.ACCOUNT,
    Column.SOURCE,  # the number and the status words tell an order from an invoice too
    Column.DATE,
)


# ------------------------------------------------------------------ plain rules


def default_rect(available: QRect) -> QRect:
    """A first start: 90% of the available area, capped, centred on it."""
    width = min(int(available.width() * DEFAULT_SHARE), DEFAULT_CAP.width())
    height = min(int(available.height() * DEFAULT_SHARE), DEFAULT_CAP.height())
    width = max(min(MIN_SIZE.width(), available.width()), width)
    height = max(min(MIN_SIZE.height(), available.height()), height)
    rect = QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    return rect


def fit_rect(rect: QRect, available: QRect, frame: QSize = QSize(0, 0)) -> QRect:
    """``rect`` (the window's inside) made to fit ``available``, title bar and borders included.

    ``frame`` is how much the window manager adds around the inside (width, height). The size
    shrinks only where it must, then the window moves the least it can to be fully on screen.
    """
    room_w = max(available.width() - frame.width(), 1)
    room_h = max(available.height() - frame.height(), 1)
    width = min(rect.width(), room_w)
    height = min(rect.height(), room_h)
    # The inside's top-left, as far as the frame lets it go (a title bar above, borders left).
    left_min = available.left() + frame.width() // 2
    top_min = available.top() + frame.height() - frame.width() // 2
    left_max = available.left() + available.width() - frame.width() // 2 - width
    top_max = available.top() + available.height() - frame.width() // 2 - height
    x = min(max(rect.x(), left_min), max(left_max, left_min))
    y = min(max(rect.y(), top_min), max(top_max, top_min))
    return QRect(x, y, width, height)


def orientation_for(width: int) -> Qt.Orientation:
    """Details beside the list on a wide window, under it on a narrow one."""
    return Qt.Orientation.Horizontal if width >= SIDE_BY_SIDE_MIN else Qt.Orientation.Vertical


def columns_to_hide(widths: Sequence[tuple[Column, int]], room: int) -> set[Column]:
    """Which of the less important columns to hide so the visible ones fit ``room`` pixels.

    ``widths``: every column that is shown or may be shown, with its width. Hides in
    :data:`HIDE_ORDER` until the rest fits (or nothing more may go); key columns always stay.
    """
    total = sum(w for _c, w in widths)
    present = {c for c, _w in widths}
    hidden: set[Column] = set()
    by_column = dict(widths)
    for col in HIDE_ORDER:
        if total <= room:
            break
        if col in present and col not in KEY_COLUMNS:
            hidden.add(col)
            total -= by_column[col]
    return hidden


def list_share(sizes: Sequence[int] | None) -> float:
    """The list's part of a side-by-side window: as staff left it, within sensible bounds."""
    if not sizes or len(sizes) < 2 or sum(sizes) <= 0:
        return LIST_SHARE
    return min(max(sizes[0] / sum(sizes), 0.4), 0.8)


# ------------------------------------------------------------------ the window


def screen_for(window: QWidget, rect: QRect | None = None) -> QScreen:
    """The screen that holds most of ``rect`` (else the window's own, else the primary one)."""
    if rect is not None:
        found = QGuiApplication.screenAt(rect.center())
        if found is not None:
            return found
    own = window.screen()
    return own if own is not None else QGuiApplication.primaryScreen()


def frame_extra(window: QWidget) -> QSize:
    """How much the window manager's frame adds; a typical title bar before the first show."""
    outer, inner = window.frameGeometry(), window.geometry()
    extra = QSize(outer.width() - inner.width(), outer.height() - inner.height())
    if extra.width() <= 0 and extra.height() <= 0:
        return QSize(0, 32)  # not shown yet (or no window manager): leave room for a title bar
    return extra


def place_window(window: QWidget, saved: object = None, available: QRect | None = None) -> None:
    """Open where it was (restored geometry) or at the default size, always inside the screen.

    ``available`` defaults to the available geometry of the screen the window lands on (the
    area without panels and docks); tests pass a small one.
    """
    restored = isinstance(saved, QByteArray | bytes) and window.restoreGeometry(saved)
    if restored and (window.isMaximized() or window.isFullScreen()):
        return
    area = available if available is not None else screen_for(window, window.geometry()).availableGeometry()
    if restored:
        window.setGeometry(fit_rect(window.geometry(), area, frame_extra(window)))
    else:
        window.setGeometry(fit_rect(default_rect(area), area, frame_extra(window)))


class WindowFit(QObject):
    """Keeps the main window's insides fitted to its width as staff resize it.

    The window's width decides the splitter's orientation (details beside or under the list);
    once the splitter and the list have their new sizes, the splitter is divided and the
    columns are fitted (hidden or shown) to the list's width. Column widths are the ones the
    window chose or staff dragged (:attr:`natural`), never the stretched last column's.
    """

    def __init__(
        self,
        window: QMainWindow,
        splitter: QSplitter,
        table: QTableView,
        *,
        toolbar: QToolBar | None = None,
        squeezable: Iterable[QWidget] = (),
    ) -> None:
        super().__init__(window)
        self.window = window
        self.splitter = splitter
        self.table = table
        self.toolbar = toolbar
        self.auto_hidden: set[Column] = set()
        self.natural: dict[Column, int] = {}
        self._side_sizes: list[int] | None = None
        self._divide = False  # the splitter turned: divide it once it has its new size
        self._fitting = False
        self._keep_current = False
        window.setMinimumSize(MIN_SIZE)
        for widget in squeezable:
            squeeze(widget)
        self.remember_widths()
        window.installEventFilter(self)
        splitter.installEventFilter(self)
        table.installEventFilter(self)
        table.horizontalHeader().sectionResized.connect(self._on_section_resized)

    # -------------------------------------------------------------- events

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.Resize, QEvent.Type.Show):
            if watched is self.window:
                self.turn(self.window.width())
            elif watched is self.splitter and self._divide:
                self._divide = False
                self._set_sizes()
            elif watched is self.table:
                self.fit_columns()
                if self._keep_current:
                    self._keep_current = False
                    QTimer.singleShot(0, self._show_current)
        return False

    def fit(self) -> None:
        """Everything at once, for the current sizes (after restoring settings)."""
        self.turn(self.window.width())
        if self._divide:
            self._divide = False
            self._set_sizes()
        self.fit_columns()

    # -------------------------------------------------------------- beside or under

    def turn(self, width: int) -> None:
        wanted = orientation_for(width)
        s = self.splitter
        if s.orientation() != wanted:
            if s.orientation() == Qt.Orientation.Horizontal and s.isVisible():
                self._side_sizes = s.sizes()  # as staff left them (not before the first show)
            s.setOrientation(wanted)
            self._divide = True
            # The splitter may already have its new size (Qt resizes children before the
            # window's own event reaches us): divide once the events of this resize are done.
            QTimer.singleShot(0, self._divide_now)
        if self.toolbar is not None:
            # Words under the icons take less width than beside them: every button stays in
            # view on a narrow window instead of slipping into the toolbar's overflow menu.
            style = (
                Qt.ToolButtonStyle.ToolButtonTextBesideIcon
                if wanted == Qt.Orientation.Horizontal
                else Qt.ToolButtonStyle.ToolButtonTextUnderIcon
            )
            if self.toolbar.toolButtonStyle() != style:
                self.toolbar.setToolButtonStyle(style)
            if wanted == Qt.Orientation.Vertical and self.toolbar.sizeHint().width() > width:
                # Still too wide (a small screen, large fonts): icons only, each named in its
                # tooltip, rather than buttons hidden behind the overflow arrow.
                self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    def _divide_now(self) -> None:
        if self._divide:
            self._divide = False
            self._set_sizes()
            self.fit_columns()

    def _set_sizes(self) -> None:
        s = self.splitter
        if s.orientation() == Qt.Orientation.Horizontal:
            total = max(s.width() - s.handleWidth(), 2)
            first = round(total * list_share(self._side_sizes))
        else:
            total = max(s.height() - s.handleWidth(), 2)
            first = round(total * LIST_SHARE_UNDER)
        s.setSizes([first, total - first])
        self._keep_current = True  # once the list has its new shape

    def _show_current(self) -> None:
        """The record staff were on stays in view when the list changes shape."""
        current = self.table.currentIndex()
        if current.isValid():  # by a column never hidden: Qt does not scroll to a hidden one
            self.table.scrollTo(current.siblingAtColumn(Column.ID))

    # -------------------------------------------------------------- columns

    def remember_widths(self) -> None:
        """Take the header's current widths as the columns' own (after a restore, say)."""
        header = self.table.horizontalHeader()
        last = self._last_visible()
        for col in Column:
            size = header.sectionSize(col)
            if size > 0 and (col != last or col not in self.natural):
                self.natural[col] = size

    def _last_visible(self) -> Column | None:
        header = self.table.horizontalHeader()
        for visual in range(header.count() - 1, -1, -1):
            logical = header.logicalIndex(visual)
            if not header.isSectionHidden(logical):
                return Column(logical)
        return None

    def list_room(self) -> int:
        """The width the list's columns may take without a sideways scroll bar.

        From the view's own width (its viewport may not be resized yet when this runs), less
        its frame and a vertical scroll bar (which a longer list shows any moment).
        """
        bar = self.table.verticalScrollBar().sizeHint().width()
        return max(self.table.width() - 2 * self.table.frameWidth() - bar, 0)

    def fit_columns(self) -> None:
        header = self.table.horizontalHeader()
        widths: list[tuple[Column, int]] = []
        for visual in range(header.count()):
            col = Column(header.logicalIndex(visual))
            if header.isSectionHidden(col) and col not in self.auto_hidden:
                continue  # hidden by staff: not ours to bring back
            widths.append((col, self.natural.get(col, header.defaultSectionSize())))
        hide = columns_to_hide(widths, self.list_room())
        if hide == self.auto_hidden:
            return
        self._fitting = True
        try:
            for col in self.auto_hidden - hide:
                header.setSectionHidden(col, False)
            for col in hide - self.auto_hidden:
                header.setSectionHidden(col, True)
            last = self._last_visible()
            for col, _w in widths:  # Qt hands a stretched width on when the last column changes
                if col != last and col not in hide and header.sectionSize(col) != self.natural.get(col):
                    header.resizeSection(col, self.natural.get(col, header.defaultSectionSize()))
        finally:
            self._fitting = False
        self.auto_hidden = hide

    def _on_section_resized(self, logical: int, _old: int, new: int) -> None:
        """Staff dragged a column's edge: that is its width now (the stretched last one aside)."""
        if self._fitting or new <= 0 or Column(logical) == self._last_visible():
            return
        self.natural[Column(logical)] = new
        if self.window.isVisible():
            self.fit_columns()

    # -------------------------------------------------------------- saving

    def header_state(self) -> QByteArray:
        """The header as staff arranged it: columns hidden only for lack of room are saved shown."""
        header = self.table.horizontalHeader()
        hidden = [c for c in self.auto_hidden if header.isSectionHidden(c)]
        self._fitting = True
        try:
            for col in hidden:
                header.setSectionHidden(col, False)
            state = header.saveState()
            for col in hidden:
                header.setSectionHidden(col, True)
        finally:
            self._fitting = False
        return state

    def splitter_state(self) -> QByteArray:
        """The side-by-side sizes, even while the details are under the list."""
        s = self.splitter
        if s.orientation() == Qt.Orientation.Horizontal or self._side_sizes is None:
            return s.saveState()
        sizes = s.sizes()
        s.setOrientation(Qt.Orientation.Horizontal)
        s.setSizes(self._side_sizes)
        state = s.saveState()
        s.setOrientation(Qt.Orientation.Vertical)
        s.setSizes(sizes)
        return state

    def restore(self, splitter: object, header_restored: bool) -> None:
        """After the window restored its settings: take their sizes as staff's, then fit."""
        if isinstance(splitter, QByteArray | bytes) and self.splitter.restoreState(splitter):
            if self.splitter.orientation() == Qt.Orientation.Horizontal:
                self._side_sizes = self.splitter.sizes()
        if header_restored:
            self.auto_hidden = set()
            self.natural = {}
            self.remember_widths()
        self.fit()


def squeeze(widget: QWidget) -> None:
    """Let a bar's widgets give way on a narrow window instead of setting its minimum width."""
    for combo in widget.findChildren(QComboBox):
        # Full width while there is room (the size hint); elided down to a few characters.
        few = combo.fontMetrics().horizontalAdvance("x" * COMBO_MIN_CHARS) + 36  # + the arrow
        combo.setMinimumWidth(min(combo.minimumSizeHint().width(), few))
    search = widget.findChild(QWidget, "searchEdit")
    if search is not None:
        search.setMinimumWidth(SEARCH_MIN_WIDTH)
    for label in widget.findChildren(QLabel, "syncStatus"):
        # A long progress line ("Syncing · demo-store: orders 200/300 · …") is cut short, not
        # allowed to push the connection state off the window; it has its full width when
        # there is room.
        label.setMinimumWidth(SYNC_TEXT_MIN_WIDTH)
    for bar in widget.findChildren(QProgressBar, "syncProgress"):
        bar.setMinimumWidth(SYNC_TEXT_MIN_WIDTH)
