"""Help → Keyboard shortcuts: every key the window answers, read from the window itself.

The list is made from the window's actions and shortcut objects each time it opens (their
keys and what they do), so a key added, changed or removed shows here without anyone
remembering to update a help text. Keys a widget handles itself (Enter and Ctrl+C on the list)
are declared beside the code that handles them and passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def _words(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").rstrip(".").strip()


def shortcut_rows(window: QWidget, extra: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """(keys, what they do) for every action and shortcut of ``window`` that has a key."""
    rows: list[tuple[str, str]] = []
    for act in window.findChildren(QAction):
        keys = [k for k in act.shortcuts() if not k.isEmpty()]
        if keys and act.text():
            what = _words(act.text())
            rows.append((", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys), what))
    for sc in window.findChildren(QShortcut):
        if not sc.key().isEmpty() and sc.whatsThis():
            rows.append((sc.key().toString(QKeySequence.SequenceFormat.NativeText), sc.whatsThis()))
    rows.extend(extra)
    return sorted(dict.fromkeys(rows), key=lambda r: r[1].lower())  # each once, by what they do


class ShortcutsDialog(QDialog):
    """A small non-modal table of keys; Esc or Close closes it."""

    def __init__(self, rows: Sequence[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setObjectName("shortcutsTable")
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setHorizontalHeaderLabels(["Keys", "What it does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        for r, (keys, what) in enumerate(rows):
            for c, text in enumerate((keys, what)):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(460, min(120 + 30 * len(rows), 560))

    def rows(self) -> list[tuple[str, str]]:
        return [
            (self.table.item(r, 0).text(), self.table.item(r, 1).text()) for r in range(self.table.rowCount())
        ]
