"""Unexpected errors: keep the traceback in the log, tell staff, and keep the window alive.

Without this, an exception in a slot or a coroutine either vanishes (the button "does
nothing") or, with a windowed build and no console, takes the app down with no trace. Here
every unhandled exception (Qt slots and ``qasync.asyncSlot`` go through ``sys.excepthook``;
tasks and callbacks on the event loop through the loop's exception handler; worker threads
through ``threading.excepthook``) is logged with its traceback, and a message box says
something went wrong and where the log file is.

The box is shown with ``open()``, never ``exec()``: a nested event loop inside a running
coroutine breaks qasync ("Cannot enter into task ... while another task is being executed").
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox

from invoicedesk import APP_NAME, logs
from invoicedesk.redact import redact

log = logging.getLogger("invoicedesk.crash")

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]


class CrashReporter(QObject):
    """Receives unhandled exceptions from any thread and shows one dialog in the GUI thread."""

    # (one-line summary, redacted traceback); emitted from any thread, shown in the GUI thread.
    reported = Signal(str, str)

    def __init__(self, parent: QObject | None = None, *, log_file: Path | None = None) -> None:
        super().__init__(parent)
        self._log_file = log_file
        self.dialog: QMessageBox | None = None
        self.count = 0
        self._more = 0
        self._previous_excepthook: ExceptHook | None = None
        self._previous_threading_hook: Callable[[threading.ExceptHookArgs], Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.reported.connect(self._show)

    @property
    def log_file(self) -> Path | None:
        return self._log_file or logs.log_file()

    # ---------------------------------------------------------------- hooks

    def excepthook(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self._report("Unhandled error", (exc_type, exc, tb))

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        where = args.thread.name if args.thread is not None else "a worker thread"
        self._report(f"Unhandled error in {where}", (args.exc_type, args.exc_value, args.exc_traceback))

    def loop_exception_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "Error on the event loop")
        exc = context.get("exception")
        if not isinstance(exc, BaseException):
            # No exception (a task destroyed while pending, an unclosed transport): worth a
            # line in the log, not an interruption.
            log.error("%s (%s)", message, ", ".join(sorted(k for k in context if k != "message")))
            return
        if isinstance(exc, asyncio.CancelledError):
            return
        self._report(message, (type(exc), exc, exc.__traceback__))

    def _report(
        self, message: str, exc_info: tuple[type[BaseException], BaseException, TracebackType | None]
    ) -> None:
        # Logging first: if showing the dialog fails too, the traceback is already on disk.
        log.critical("%s", message, exc_info=exc_info)
        exc_type, exc, tb = exc_info
        summary = redact("".join(traceback.format_exception_only(exc_type, exc)).strip())
        details = redact("".join(traceback.format_exception(exc_type, exc, tb)))
        try:
            self.reported.emit(summary, details)
        except RuntimeError:  # the reporter is gone (interpreter shutting down)
            pass

    # ---------------------------------------------------------------- the dialog

    @Slot(str, str)
    def _show(self, summary: str, details: str) -> None:
        self.count += 1
        if QApplication.instance() is None:
            return
        if self.dialog is not None and self.dialog.isVisible():
            # One box at a time: a failure in a loop must not bury the window under dialogs.
            self._more += 1
            self.dialog.setInformativeText(self._informative(self._more))
            return
        self._more = 0
        box = QMessageBox(QApplication.activeWindow())
        box.setObjectName("crashDialog")
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle(f"{APP_NAME}: something went wrong")
        box.setText(f"Something went wrong: {summary}")
        box.setInformativeText(self._informative(0))
        box.setDetailedText(details)
        box.setStandardButtons(QMessageBox.StandardButton.Close)
        folder = self.log_file.parent if self.log_file is not None else None
        if folder is not None:
            open_button = box.addButton("Open log folder", QMessageBox.ButtonRole.ActionRole)
            # An action button would close the box; keep it open so the path can be copied.
            open_button.clicked.disconnect()
            open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
        self.dialog = box
        box.open()

    def _informative(self, more: int) -> str:
        where = (
            f"The details are in the log file:\n{self.log_file}"
            if self.log_file is not None
            else "The log file could not be written; run InvoiceDesk from a terminal to see the details."
        )
        text = (
            "InvoiceDesk could not finish what it was doing. Your data is kept; you can go on "
            "working, and if it happens again, send the log file to your support contact.\n\n" + where
        )
        if more:
            text += f"\n\n{more} more error(s) happened since; they are in the log too."
        return text

    # ---------------------------------------------------------------- life cycle

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> CrashReporter:
        """Route unhandled exceptions here (``loop``: also the event loop's handler)."""
        self._previous_excepthook = sys.excepthook
        self._previous_threading_hook = threading.excepthook
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook
        if loop is not None:
            self.install_loop(loop)
        return self

    def install_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.set_exception_handler(self.loop_exception_handler)

    def uninstall(self) -> None:
        """Put the previous hooks back (tests; the app keeps them until exit)."""
        if sys.excepthook == self.excepthook and self._previous_excepthook is not None:
            sys.excepthook = self._previous_excepthook
        if threading.excepthook == self.thread_excepthook and self._previous_threading_hook is not None:
            threading.excepthook = self._previous_threading_hook
        if self._loop is not None and self._loop.get_exception_handler() == self.loop_exception_handler:
            self._loop.set_exception_handler(None)
        self._loop = None


def install_crash_handlers(
    app: QObject | None = None, loop: asyncio.AbstractEventLoop | None = None
) -> CrashReporter:
    """The one call ui/app.py makes once the QApplication (and optionally the loop) exist."""
    return CrashReporter(app).install(loop)
