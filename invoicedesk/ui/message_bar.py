"""The inline message bar above the list: what an action or a sync just did, in plain words.

Results and errors go here instead of message boxes: a modal box from inside a coroutine
breaks qasync, and staff can keep working while the message stays readable (and its link
clickable) until they close it or the next message replaces it.
"""

from __future__ import annotations

import html
from typing import Literal

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from invoicedesk.ui.palette import tones

Kind = Literal["info", "success", "error"]


class MessageBar(QFrame):
    """One message at a time, with optional links; ``linkActivated`` for in-app links."""

    linkActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Message")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel(objectName="messageText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.label.setOpenExternalLinks(False)
        self.label.linkActivated.connect(self._on_link)
        self.close_button = QToolButton(objectName="messageClose")
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Close this message")
        self.close_button.setAccessibleName("Close message")
        self.close_button.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.kind: Kind = "info"
        self._text = ""
        self._links: list[tuple[str, str]] = []
        self._dark = False
        self.setVisible(False)

    def show_message(self, kind: Kind, text: str, links: list[tuple[str, str]] | None = None) -> None:
        """Show ``text`` (plain, escaped here) followed by ``links`` as (label, url) pairs."""
        self.kind = kind
        self._text = text
        self._links = list(links or [])
        self._render()
        self.setVisible(True)

    def text(self) -> str:
        """The message as plain text, links spelled out (tests, copy)."""
        if not self.isVisible():
            return ""
        return " ".join([self._text, *(f"{label} <{url}>" for label, url in self._links)])

    def links(self) -> list[tuple[str, str]]:
        return list(self._links) if self.isVisible() else []

    def _render(self) -> None:
        t = tones()
        self._dark = t.dark
        bg, fg = {
            "info": (t.info_bg, t.info_fg),
            "success": (t.success_bg, t.success_fg),
            "error": (t.error_bg, t.error_fg),
        }[self.kind]
        self.setStyleSheet(
            f"QFrame#messageBar {{ background: {bg}; border: 1px solid {fg}; border-radius: 4px; }}"
            f"QLabel#messageText {{ color: {fg}; background: transparent; }}"
            f"QToolButton#messageClose {{ color: {fg}; border: none; background: transparent; }}"
        )
        parts = [html.escape(self._text)]
        for label, url in self._links:
            parts.append(
                f'<a style="color:{t.link}; font-weight:600" href="{html.escape(url, quote=True)}">'
                f"{html.escape(label)}</a>"
            )
        self.label.setText("&nbsp; ".join(parts))
        self.label.setAccessibleName(self._text)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._text and tones().dark != self._dark:
            self._render()

    def _on_link(self, url: str) -> None:
        self.linkActivated.emit(url)
