"""The inline message bar above the list: what an action or a sync just did, in plain words.

Results and errors go here instead of message boxes: a modal box from inside a coroutine
breaks qasync, and staff can keep working while the message stays readable (and its link
clickable) until they close it or the next message replaces it.

Three rules keep what it says true:

- A message about one record (an action's outcome, a refusal) is tied to that record and goes
  away when another record is shown: it never reads as if it were about the new one.
- A message about a condition ("Could not sync", offline) is named after it and goes away when
  the condition ends (a good sync clears the sync error); a record's message shows above it, and
  the condition shows again when that message goes.
- Its space is always reserved, two lines high, shown or not: a message appearing never moves
  the list under the pointer (a click meant for one row must not land on the next). Overlaying
  the list would hide the rows staff are about to click; the details pane is off to the side
  for messages about a sync. A longer text is shortened to the two lines, in full in its
  tooltip and in "Copy details".

Staff read sentences, not endpoints: paths and web addresses are taken out of what is shown
(:func:`~invoicedesk.errors.staff_words`) and kept, with the time, account, record and HTTP
status, in the details an error's "Copy details" puts on the clipboard for support.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from PySide6.QtCore import QEvent, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QGuiApplication, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from invoicedesk.errors import staff_words, support_details
from invoicedesk.ui.palette import tones

Kind = Literal["info", "success", "error"]
Key = tuple[str, str, str]

# Lines of text the bar always has room for.
LINES = 2


@dataclass
class Message:
    """One message: what staff read, what support gets, and what it belongs to."""

    kind: Kind
    text: str  # as composed (may name paths): kept for the details
    links: list[tuple[str, str]] = field(default_factory=list)
    record: Key | None = None
    condition: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now().astimezone())

    @property
    def words(self) -> str:
        return staff_words(self.text)

    def details(self) -> str:
        record = " ".join(self.record) if self.record else ""
        return support_details(self.text, when=self.at, record=record)


class MessageBar(QFrame):
    """The message on top (a record's, else the latest condition's), with optional links;
    ``linkActivated`` for in-app links."""

    linkActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Message")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        self.label = QLabel(objectName="messageText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.label.setOpenExternalLinks(False)
        self.label.linkActivated.connect(self._on_link)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.copy_button = QToolButton(objectName="messageCopyDetails")
        self.copy_button.setText("Copy details")
        self.copy_button.setToolTip(
            "Copy what support needs (time, account, record, HTTP status, path) to the clipboard"
        )
        self.copy_button.setAccessibleName("Copy details for support")
        self.copy_button.clicked.connect(self.copy_details)
        self.close_button = QToolButton(objectName="messageClose")
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Close this message")
        self.close_button.setAccessibleName("Close message")
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._copied = QTimer(self, singleShot=True, interval=2000)
        self._copied.timeout.connect(lambda: self.copy_button.setText("Copy details"))
        self._rerender = QTimer(self, singleShot=True, interval=0)  # after a resize is laid out
        self._rerender.timeout.connect(self._render)
        # The space stays when no message shows: nothing below it moves.
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        policy.setVerticalPolicy(QSizePolicy.Policy.Fixed)
        self.setSizePolicy(policy)
        self._fit_height()
        self.kind: Kind = "info"
        self._record_message: Message | None = None
        self._conditions: dict[str, Message] = {}
        self._shown: Message | None = None
        self._dark = False
        self.setVisible(False)

    # ------------------------------------------------------------------ what to show

    def show_message(
        self,
        kind: Kind,
        text: str,
        links: list[tuple[str, str]] | None = None,
        *,
        record: Key | None = None,
        condition: str | None = None,
    ) -> None:
        """Show ``text`` (plain, escaped here) followed by ``links`` as (label, url) pairs.

        ``record``: the message is about that record and goes when another is shown.
        ``condition``: the message says a condition holds; :meth:`clear_condition` ends it.
        A message with neither replaces the one on top, like a record's.
        """
        message = Message(kind, text, list(links or []), record, condition)
        if condition is not None:
            self._conditions.pop(condition, None)
            self._conditions[condition] = message  # the newest condition last
            if self._record_message is not None and self._record_message.record is None:
                self._record_message = None
        else:
            self._record_message = message
        self._show(message)

    def tie_to_record(self, record: Key) -> None:
        """The message on top is about ``record`` (its outcome arrived by signal)."""
        if self._shown is not None and self._shown is self._record_message:
            self._shown.record = record

    def record_shown(self, record: Key | None) -> None:
        """Another record is shown: a message about a different record goes."""
        m = self._record_message
        if m is not None and m.record is not None and m.record != record:
            self._record_message = None
            self._show_next()

    def clear_condition(self, condition: str) -> None:
        """The condition ended: its message goes (and one shown above it stays)."""
        if self._conditions.pop(condition, None) is not None:
            self._show_next()

    def has_condition(self, condition: str) -> bool:
        return condition in self._conditions

    def dismiss(self) -> None:
        """The close button: the message on top goes; a condition that still holds shows again
        only when it is reported again."""
        m = self._shown
        if m is None:
            return
        if m is self._record_message:
            self._record_message = None
        else:
            self._conditions = {k: v for k, v in self._conditions.items() if v is not m}
        self._shown = None
        self.setVisible(False)

    def _show_next(self) -> None:
        top = self._record_message or (list(self._conditions.values())[-1] if self._conditions else None)
        if top is None:
            self._shown = None
            self.setVisible(False)
            return
        self._show(top)

    def _show(self, message: Message) -> None:
        self._shown = message
        self.kind = message.kind
        self._render()
        self.setVisible(True)

    # ------------------------------------------------------------------ reading it back

    def text(self) -> str:
        """The message as staff read it, links spelled out (tests, copy)."""
        m = self._shown
        if m is None or not self.isVisible():
            return ""
        return " ".join([m.words, *(f"{label} <{url}>" for label, url in m.links)])

    def shown_text(self) -> str:
        """Exactly the words on screen: the sentence and the links' labels."""
        m = self._shown
        if m is None or not self.isVisible():
            return ""
        return " ".join([m.words, *(label for label, _url in m.links)])

    def links(self) -> list[tuple[str, str]]:
        return list(self._shown.links) if self._shown is not None and self.isVisible() else []

    def details(self) -> str:
        """What "Copy details" copies for the message shown ("" when none)."""
        return self._shown.details() if self._shown is not None else ""

    def copy_details(self) -> None:
        details = self.details()
        if details:
            QGuiApplication.clipboard().setText(details)
            self.copy_button.setText("Copied")
            self._copied.start()

    # ------------------------------------------------------------------ drawing

    def _fit_height(self) -> None:
        fm = QFontMetrics(self.label.font())
        margins = self.contentsMargins().top() + self.contentsMargins().bottom()
        inner = self.layout().contentsMargins()
        text = fm.lineSpacing() * LINES + inner.top() + inner.bottom() + margins + 4
        button = max(self.copy_button.sizeHint().height(), self.close_button.sizeHint().height())
        self.setFixedHeight(max(text, button + inner.top() + inner.bottom() + margins))

    def _fitted(self, words: str, links: list[tuple[str, str]]) -> tuple[str, bool]:
        """``words`` cut at a word so that they and the links fit the bar's lines."""
        width = self.label.width() - 4
        if width <= 40:
            return words, False
        fm = QFontMetrics(self.label.font())
        suffix = "".join(f"   {label}" for label, _url in links)
        flags = int(Qt.TextFlag.TextWordWrap)

        def fits(text: str) -> bool:
            rect = fm.boundingRect(QRect(0, 0, width, 10_000), flags, text + suffix)
            return rect.height() <= fm.lineSpacing() * LINES + 1

        if fits(words):
            return words, False
        cut = words.split(" ")
        lo, hi = 0, len(cut)
        while lo < hi:  # the most words that fit, found by halving
            mid = (lo + hi + 1) // 2
            if fits(" ".join(cut[:mid]) + " …"):
                lo = mid
            else:
                hi = mid - 1
        return " ".join(cut[:lo]).rstrip(",;:") + " …", True

    def _render(self) -> None:
        m = self._shown
        if m is None:
            return
        t = tones()
        self._dark = t.dark
        bg, fg = {
            "info": (t.info_bg, t.info_fg),
            "success": (t.success_bg, t.success_fg),
            "error": (t.error_bg, t.error_fg),
        }[m.kind]
        self.setStyleSheet(
            f"QFrame#messageBar {{ background: {bg}; border: 1px solid {fg}; border-radius: 4px; }}"
            f"QLabel#messageText {{ color: {fg}; background: transparent; }}"
            f"QToolButton#messageClose {{ color: {fg}; border: none; background: transparent; }}"
        )
        words, cut = self._fitted(m.words, m.links)
        parts = [html.escape(words)]
        for label, url in m.links:
            parts.append(
                f'<a style="color:{t.link}; font-weight:600" href="{html.escape(url, quote=True)}">'
                f"{html.escape(label)}</a>"
            )
        self.label.setText("&nbsp; ".join(parts))
        self.label.setToolTip(m.words if cut else "")
        self.label.setAccessibleName(m.words)
        self.copy_button.setVisible(m.kind == "error")
        self.copy_button.setText("Copy details")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width() and self._shown is not None:
            self._rerender.start()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        palette = event.type() == QEvent.Type.PaletteChange
        if palette and self._shown is not None and tones().dark != self._dark:
            self._render()
        elif event.type() == QEvent.Type.FontChange and hasattr(self, "copy_button"):
            self._fit_height()

    def _on_link(self, url: str) -> None:
        self.linkActivated.emit(url)

