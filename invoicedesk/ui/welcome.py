"""The first start: what the window shows while no store or seller is configured.

An empty list with "Select an order or invoice" tells a new user nothing. In its place the
window shows three ways on: add a Jumpseller store, add a Marketplacer seller (both open the
Accounts dialog with a new account of that kind), or try the demo. Once the first account is
saved the list takes over and the first sync starts.

The demo opens as a second InvoiceDesk (``invoicedesk --demo``), not inside this window: it
runs its own sandbox and a throw-away data folder, so nothing from it can mix with this
desk's cache, settings or keyring, and closing it leaves this window as it was.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QProcess, QTimer, Signal
from PySide6.QtWidgets import (
    QCommandLinkButton,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from invoicedesk import APP_NAME
from invoicedesk.sync_feed import invoicedesk_command
from invoicedesk.ui.palette import is_dark, themed_icon

DEMO_START_MS = 8000  # about how long the demo takes to show its window
COLUMN_WIDTH = 600  # a comfortable line length for the words; the page centres it


class WelcomePage(QWidget):
    """Three buttons; the window decides what each one does."""

    addStore = Signal()
    addSeller = Signal()
    tryDemo = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 24, 24, 24)
        outer.addStretch(1)
        row = QHBoxLayout()
        outer.addLayout(row)
        column = QWidget(self)
        column.setMaximumWidth(COLUMN_WIDTH)
        column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        row.addStretch(1)
        row.addWidget(column, 100)
        row.addStretch(1)
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)

        title = QLabel(f"Welcome to {APP_NAME}", objectName="welcomeTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        title.setWordWrap(True)
        layout.addWidget(title)
        intro = QLabel(
            "Add your store or your marketplace seller account to see its orders and invoices "
            "here, invoice paid orders in one click and mark invoices sent.",
            objectName="welcomeIntro",
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addSpacing(6)

        self.add_store_button = self._button(
            "addStoreWelcome",
            "jumpseller",
            "Add a Jumpseller store",
            "Your web store's orders: invoices and credit notes through your invoicing service.",
        )
        self.add_seller_button = self._button(
            "addSellerWelcome",
            "marketplacer",
            "Add a Marketplacer seller",
            "Your invoices on BikeExchange, Woolworths Everyday Market or another Marketplacer "
            "site: mark them sent, ready or collected.",
        )
        self.demo_button = self._button(
            "tryDemoButton",
            "sync",
            "Try the demo",
            "Opens a second window with sample orders and invoices from a built-in sandbox. "
            "Nothing there reaches a real shop.",
        )
        for button in (self.add_store_button, self.add_seller_button, self.demo_button):
            layout.addWidget(button)
        self.add_store_button.clicked.connect(self.addStore)
        self.add_seller_button.clicked.connect(self.addSeller)
        self.demo_button.clicked.connect(self.tryDemo)

        self.note = QLabel(
            "Tokens and keys are kept in the system keyring, never in a file.",
            objectName="welcomeNote",
        )
        self.note.setWordWrap(True)
        layout.addSpacing(4)
        layout.addWidget(self.note)

        outer.addStretch(2)

    def _button(self, name: str, icon_name: str, text: str, description: str) -> QCommandLinkButton:
        button = QCommandLinkButton(text, description, self)
        button.setObjectName(name)
        button.setProperty("iconName", icon_name)
        button.setIcon(themed_icon(icon_name, is_dark()))
        button.setAccessibleName(text)
        button.setAccessibleDescription(description)
        return button


    def demo_starting(self) -> None:
        """A second click while the demo opens would open a second demo: wait a little."""
        self.demo_button.setEnabled(False)
        QTimer.singleShot(DEMO_START_MS, lambda: self.demo_button.setEnabled(True))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            dark = is_dark()
            for button in self.findChildren(QCommandLinkButton):
                button.setIcon(themed_icon(str(button.property("iconName")), dark))


def demo_command() -> tuple[str, list[str]]:
    """How to start the demo: this same program (or frozen app) with ``--demo``."""
    return invoicedesk_command("--demo")


def start_demo_process() -> bool:
    """Open the demo as a process of its own; ``False`` when it could not be started."""
    program, args = demo_command()
    started, _pid = QProcess.startDetached(program, args)
    return bool(started)
