"""The main window's actions on the selected record: run, confirm, retry, Mark Sent.

A mixin of :class:`~invoicedesk.ui.main_window.MainWindow`. It enables each toolbar action
with the controller's refusal as the tooltip, starts actions through the controller, shows
what came back in the message bar, and asks before anything risky (a retry after an unknown
outcome, an invoice the service wants confirmed). Every question is a non-modal box shown
with ``open()``: a dialog never runs inside a coroutine (see ``shared/pitfalls``).
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QMessageBox, QStatusBar

from invoicedesk.action_table import ACTIONS, CHANGING, ActionName
from invoicedesk.cache import Cache
from invoicedesk.domain import Invoice, Order
from invoicedesk.ui.controller import ACTION_WORDS, ActionReport, Controller
from invoicedesk.ui.mark_sent_dialog import MarkSentDialog
from invoicedesk.ui.message_bar import MessageBar
from invoicedesk.ui.records_model import Key, record_key

ACTION_TIPS: dict[str, str] = {str(n): ACTIONS[n].tip for n in CHANGING}

NO_SELECTION = "Select an order or invoice in the list first."
RETRY_TIP = "Send the action again after an unknown outcome (asks first: it may be done twice)"


class RecordActionsMixin:
    """The one-click actions and their questions, for the main window."""

    # The window provides these.
    controller: Controller
    cache: Cache
    message_bar: MessageBar
    action_buttons: dict[str, QAction]
    check_action: QAction
    retry_action: QAction
    confirm_box: QMessageBox | None
    mark_sent_dialog: MarkSentDialog | None
    _record: Order | Invoice | None

    if TYPE_CHECKING:

        def statusBar(self) -> QStatusBar: ...

    def _update_actions(self) -> None:
        rec = self._record
        for name, act in self.action_buttons.items():
            reason = NO_SELECTION if rec is None else self.controller.refusal(rec, name)
            act.setEnabled(reason is None)
            act.setToolTip(reason or ACTION_TIPS[name])
            act.setStatusTip(reason or ACTION_TIPS[name])
        unknown = None if rec is None else self.controller.unknown_outcome(rec)
        self.check_action.setVisible(unknown is not None)
        self.retry_action.setVisible(unknown is not None)
        if rec is not None and unknown is not None:
            busy = self.controller.is_busy(record_key(rec.summary()))
            self.check_action.setEnabled(not busy and self.controller.refusal(rec, "check") is None)
            self.retry_action.setEnabled(not busy)
            self.retry_action.setText(f"Retry {ACTION_WORDS.get(unknown, unknown)}…")

    def _confirm(self, title: str, text: str, yes: str, then: partial[object]) -> None:
        """Ask once, without blocking the loop (a dialog never runs inside a coroutine)."""
        if self.confirm_box is not None:
            self.confirm_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Cancel, self)
        go = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def done(_result: int) -> None:
            if box.clickedButton() is go:
                then()
            self.confirm_box = None
            box.deleteLater()

        box.finished.connect(done)
        self.confirm_box = box
        box.open()

    def ask_retry(self) -> None:
        """After an unknown outcome: send again only once staff accept the named risk."""
        rec = self._record
        unknown = None if rec is None else self.controller.unknown_outcome(rec)
        if rec is None or unknown is None:
            return
        words = ACTION_WORDS.get(unknown, unknown)
        what = f"order {rec.summary().id}" if isinstance(rec, Order) else f"invoice {rec.summary().id}"
        if unknown in ("invoice", "credit_note"):
            noun = "invoice" if unknown == "invoice" else "credit note"
            risk = (
                f"The last {words} for {what} got no answer. If the invoicing service made the {noun} "
                f"anyway, retrying makes a second {noun} for the same order.\n\n"
                "Use \"Check at the service\" first, and look in the invoicing service. Retry anyway?"
            )
        else:
            risk = f"The last {words} for {what} got no answer. Send it again?"
        self._confirm(f"Retry {words}?", risk, "Retry anyway", partial(self._retry, unknown))

    def _retry(self, action: str) -> None:
        rec = self._record
        if rec is None:
            return
        self.controller.run_action(action, rec.summary(), force="1")  # type: ignore[arg-type]
        self._update_actions()

    def run_action(self, action: ActionName, **kwargs: str) -> asyncio.Task[ActionReport] | None:
        """Start ``action`` on the selected record; a second click while it runs does nothing."""
        rec = self._record
        if rec is None or self.controller.refusal(rec, action) is not None:
            return None
        task = self.controller.run_action(action, rec.summary(), **kwargs)
        if task is not None:
            what = "order" if isinstance(rec, Order) else "invoice"
            self.statusBar().showMessage(f"{ACTION_WORDS[action]}: working on {what} {rec.summary().id}…")
        self._update_actions()
        return task

    def open_mark_sent(self) -> None:
        """Mark Sent needs a tracking number and a carrier: ask in a non-modal dialog."""
        rec = self._record
        if not isinstance(rec, Invoice) or self.controller.refusal(rec, "mark_sent") is not None:
            return
        if self.mark_sent_dialog is not None:
            self.mark_sent_dialog.close()
            self.mark_sent_dialog.deleteLater()
        dialog = MarkSentDialog(rec, self)
        key = record_key(rec.summary())
        dialog.submitted.connect(partial(self._mark_sent_submitted, key))
        self.mark_sent_dialog = dialog
        dialog.open()

    def _mark_sent_submitted(self, key: Key, tracking: str, carrier: str, note: str) -> None:
        """The dialog's answer: mark that invoice sent, even if the selection moved meanwhile."""
        rec = self.cache.get(*key)
        if not isinstance(rec, Invoice):
            return
        reason = self.controller.refusal(rec, "mark_sent")
        if reason is not None:
            self.message_bar.show_message("error", reason)
            return
        self.controller.run_action("mark_sent", rec.summary(), tracking=tracking, carrier=carrier, note=note)
        self._update_actions()

    def _on_action_finished(self, report: ActionReport) -> None:
        self.statusBar().clearMessage()
        links: list[tuple[str, str]] = []
        text = report.message
        if report.public_id:
            if report.public_id not in text:
                text = f"{text} ({report.public_id})"
            if report.url:
                links.append((f"Open {report.public_id}", report.url))
        self.message_bar.show_message(report.kind, text, links)
        self._update_actions()
        if report.needs_confirmation and report.action == "invoice":
            rec = self.cache.get(*report.key)
            if isinstance(rec, Order):
                self._confirm(
                    "Create the invoice anyway?",
                    f"{text}\n\nCreate the invoice anyway?",
                    "Create invoice",
                    partial(self._invoice_confirmed, report.key),
                )

    def _invoice_confirmed(self, key: Key) -> None:
        rec = self.cache.get(*key)
        if isinstance(rec, Order):
            self.controller.run_action("invoice", rec.summary(), confirm_documents="1")
            self._update_actions()

    def _open_link(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))

