"""The main window: what staff see all day."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from invoicedesk import APP_NAME
from invoicedesk.services import ConnectionState, Services


class MainWindow(QMainWindow):
    """Shows every configured account and whether it answers."""

    closed = Signal()

    def __init__(self, services: Services, *, demo: bool = False) -> None:
        super().__init__()
        self.services = services
        self.demo = demo
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"{APP_NAME} — Demo data" if demo else APP_NAME)
        self.resize(1100, 700)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.demo_banner = QLabel(
            "Demo data: a built-in sandbox plays the store, the marketplace and the invoicing "
            "service. Nothing here reaches a real shop.",
            objectName="demoBanner",
        )
        self.demo_banner.setWordWrap(True)
        self.demo_banner.setStyleSheet(
            "QLabel#demoBanner { background: #fff4ce; color: #5c4400; padding: 6px; border-radius: 3px; }"
        )
        self.demo_banner.setVisible(demo)
        layout.addWidget(self.demo_banner)

        self.accounts = QTreeWidget(objectName="connectionTree")
        self.accounts.setHeaderLabels(["Account", "Service", "Connection"])
        self.accounts.setRootIsDecorated(False)
        self.accounts.setAccessibleName("Accounts and their connection state")
        self._items: dict[str, QTreeWidgetItem] = {}
        for acc in services.config.accounts:
            item = QTreeWidgetItem([acc.name, acc.source.capitalize(), "Checking…"])
            self.accounts.addTopLevelItem(item)
            self._items[acc.name] = item
        for col in range(3):
            self.accounts.resizeColumnToContents(col)
        self.accounts.setColumnWidth(0, max(self.accounts.columnWidth(0), 160))
        layout.addWidget(self.accounts)
        if not services.config.accounts:
            empty = QLabel(
                "No accounts yet. Add a Jumpseller store or a Marketplacer seller to the configuration file.",
                objectName="noAccounts",
            )
            empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(empty)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Checking connections…")

        self._checks = asyncio.ensure_future(self._check_connections())

    async def _check_connections(self) -> list[ConnectionState]:
        states = await self.services.check_all()
        for state in states:
            item = self._items.get(state.account)
            if item is not None:
                item.setText(2, state.message)
                item.setForeground(2, Qt.GlobalColor.darkGreen if state.ok else Qt.GlobalColor.red)
        ok = sum(s.ok for s in states)
        self.statusBar().showMessage(f"{ok} of {len(states)} accounts connected.")
        return states

    async def ready(self) -> None:
        """Resolves once the first connection check has finished (smoke runs, screenshots)."""
        await asyncio.shield(self._checks)

    async def shutdown(self) -> None:
        if not self._checks.done():
            self._checks.cancel()
            await asyncio.gather(self._checks, return_exceptions=True)

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.emit()
