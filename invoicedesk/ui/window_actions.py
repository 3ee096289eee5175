"""The main window's actions on the selected records: run, confirm, retry, Mark Sent, bulk.

A mixin of :class:`~invoicedesk.ui.main_window.MainWindow`. It enables each toolbar action
with the controller's refusal as the tooltip, starts actions through the controller, shows
what came back in the message bar, and asks before anything that changes a service: once per
action (with "Don't ask again" per kind, kept in the settings), once for a whole selection
or "Invoice All Pending" (what will be done, what is skipped and why), and before anything
risky (a retry after an unknown outcome, an invoice the service wants confirmed). Several
selected rows run one after the other through :class:`~invoicedesk.ui.bulk.BulkRunner`, with
a small progress dialog whose Cancel stops before the next record. Every question is a
non-modal box shown with ``open()``: a dialog never runs inside a coroutine (see
``shared/pitfalls``).
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QStatusBar,
    QTableView,
    QToolBar,
)

from invoicedesk.action_table import ACTIONS, CHANGING, ActionName
from invoicedesk.bulk_plan import (
    BULK_ACTIONS,
    BulkPlan,
    BulkResult,
    confirmation_text,
    headline,
    make_plan,
    question,
    result_text,
)
from invoicedesk.cache import Cache, Query
from invoicedesk.config import Config
from invoicedesk.domain import Invoice, Order, Summary
from invoicedesk.needs import INVOICE_OWED, INVOICE_REFUSED
from invoicedesk.needs import label as needs_label
from invoicedesk.ui.bulk import BulkRunner
from invoicedesk.ui.controller import ACTION_WORDS, ActionReport, Controller
from invoicedesk.ui.message_bar import MessageBar
from invoicedesk.ui.records_model import Key, RecordsModel, money_locale, record_key

if TYPE_CHECKING:  # loads when first opened
    from invoicedesk.ui.mark_sent_dialog import MarkSentDialog

ACTION_TIPS: dict[str, str] = {str(n): ACTIONS[n].tip for n in CHANGING}

NO_SELECTION = "Select an order or invoice in the list first."
RETRY_TIP = "Send the action again after an unknown outcome (asks first: it may be done twice)"
INVOICE_ALL_TIP = (
    "Create the invoice of every paid order that still needs one, after one question (Ctrl+Shift+I)"
)
ONE_AT_A_TIME = "Mark Sent needs a tracking number for each invoice: select one invoice at a time."
SKIP_SETTING = "confirm/skip/{action}"  # "Don't ask again" per kind of action

# The needs-action codes that show a record is owed an action (enough to enable a button for
# a selection; each record's own refusal is worked out when the action starts).
OWED_CODES: dict[str, tuple[str, ...]] = {
    ActionName.INVOICE: INVOICE_OWED,
    ActionName.CREDIT_NOTE: ("credit_note",),
    ActionName.MARK_READY: ("mark_ready",),
    ActionName.MARK_COLLECTED: ("mark_collected",),
}
# What "Invoice All Pending" names as skipped: paid orders without an invoice it will not send.
PENDING_SKIPPED = (*INVOICE_REFUSED, "check_documents", "outcome_unknown", "resume")


class RecordActionsMixin:
    """The one-click actions and their questions, for the main window."""

    # The window provides these.
    controller: Controller
    cache: Cache
    model: RecordsModel
    table: QTableView
    toolbar: QToolBar
    settings: QSettings | None
    message_bar: MessageBar
    action_buttons: dict[str, QAction]
    check_action: QAction
    retry_action: QAction
    confirm_box: QMessageBox | None
    mark_sent_dialog: MarkSentDialog | None
    _record: Order | Invoice | None
    # Made here (``_build_bulk``).
    invoice_all_action: QAction
    bulk_runner: BulkRunner | None
    bulk_progress: QProgressDialog | None
    _skip_asking: set[str]

    if TYPE_CHECKING:

        @property
        def services(self) -> object: ...

        def statusBar(self) -> QStatusBar: ...

        def addAction(self, action: QAction) -> None: ...

        def _action(self, text: str, name: str, icon_name: str, tip: str) -> QAction: ...

    def _build_bulk(self) -> None:
        """"Invoice All Pending" in the toolbar, and the buttons following the whole selection."""
        self.bulk_runner = None
        self.bulk_progress = None
        self._skip_asking = set()
        act = self._action("Invoice All Pending…", "invoiceAllPendingAction", "invoice", INVOICE_ALL_TIP)
        act.setShortcut(QKeySequence("Ctrl+Shift+I"))
        act.triggered.connect(self.ask_invoice_all_pending)
        self.invoice_all_action = act
        self.addAction(act)
        self.toolbar.insertAction(self.check_action, act)
        button = self.toolbar.widgetForAction(act)
        if button is not None:
            button.setObjectName("invoiceAllPendingButton")
            button.setAccessibleName(act.text())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())

    # ------------------------------------------------------------------ what is selected

    def selected_summaries(self) -> list[Summary]:
        """The selected rows' records, top to bottom (the current record when none is)."""
        # From the selection's ranges: ``selectedRows()`` checks every cell of every row, and
        # costs tens of milliseconds per selection change once a few hundred rows are selected.
        rows: set[int] = set()
        for r in self.table.selectionModel().selection():
            rows.update(range(r.top(), r.bottom() + 1))
        out = [s for s in (self.model.summary(r) for r in sorted(rows)) if s is not None]
        if not out and self._record is not None:
            out = [self._record.summary()]
        return out

    def _update_actions(self) -> None:
        rec = self._record
        selected = self.selected_summaries() if hasattr(self, "table") else []
        for name, act in self.action_buttons.items():
            if len(selected) > 1:
                reason, tip = self._selection_reason(name, selected)
            else:
                reason = NO_SELECTION if rec is None else self.controller.refusal(rec, name)
                tip = ACTION_TIPS[name]
            act.setEnabled(reason is None)
            act.setToolTip(reason or tip)
            act.setStatusTip(reason or tip)
        busy = getattr(self, "bulk_runner", None) is not None
        if hasattr(self, "invoice_all_action"):
            # Nothing to invoice without a store (the first start's welcome).
            has_store = bool(self.services.config.jumpseller)  # type: ignore[attr-defined]
            self.invoice_all_action.setEnabled(not busy and has_store)
        unknown = None if rec is None else self.controller.unknown_outcome(rec)
        self.check_action.setVisible(unknown is not None)
        self.retry_action.setVisible(unknown is not None)
        if rec is not None and unknown is not None:
            busy = self.controller.is_busy(record_key(rec.summary()))
            self.check_action.setEnabled(not busy and self.controller.refusal(rec, "check") is None)
            self.retry_action.setEnabled(not busy)
            self.retry_action.setText(f"Retry {ACTION_WORDS.get(unknown, unknown)}…")

    def _selection_reason(self, name: str, selected: list[Summary]) -> tuple[str | None, str]:
        """(why the action is off for this selection, or None; the tooltip when it is on)."""
        if name not in BULK_ACTIONS:
            return ONE_AT_A_TIME, ""
        if getattr(self, "bulk_runner", None) is not None:
            return "Another action is running on several records; wait for it, or cancel it.", ""
        owed = sum(1 for s in selected if s.needs_action in OWED_CODES[name])
        words = ACTION_WORDS[name]
        if not owed:
            return f"None of the {len(selected):,} selected records needs {words}.", ""
        tip = f"{words} for the {owed:,} of {len(selected):,} selected records that need it (asks first)"
        return None, tip

    def _asks(self, action: str) -> bool:
        """Whether a single action asks first ("Don't ask again" turns it off per kind)."""
        if action in self._skip_asking:
            return False
        s = self.settings
        return s is None or s.value(SKIP_SETTING.format(action=action), False, type=bool) is not True

    def _never_ask(self, action: str) -> None:
        self._skip_asking.add(action)
        if self.settings is not None:
            self.settings.setValue(SKIP_SETTING.format(action=action), True)
            self.settings.sync()

    def _confirm(
        self,
        title: str,
        text: str,
        yes: str,
        then: partial[object],
        *,
        remember: str | None = None,
        icon: QMessageBox.Icon = QMessageBox.Icon.Warning,
    ) -> None:
        """Ask once, without blocking the loop (a dialog never runs inside a coroutine).

        ``remember``: an action kind; the box offers "Don't ask again" for it."""
        if self.confirm_box is not None:
            self.confirm_box.close()
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Cancel, self)  # type: ignore[arg-type]
        box.setObjectName("confirmBox")
        box.setTextFormat(Qt.TextFormat.PlainText)
        go = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        check: QCheckBox | None = None
        if remember is not None:
            # Parented and kept here: a box given an unowned check box may outlive its wrapper.
            check = QCheckBox(f"Don't ask again for {ACTION_WORDS.get(remember, remember)}", box)
            check.setObjectName("dontAskAgain")
            box.setCheckBox(check)

        def done(_result: int) -> None:
            if box.clickedButton() is go:
                if remember is not None and check is not None and check.isChecked():
                    self._never_ask(remember)
                then()
            self.confirm_box = None
            box.deleteLater()

        box.finished.connect(done)
        self.confirm_box = box
        box.open()
        box.activateWindow()  # the keyboard goes to the question (some window managers don't)

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
        """Start ``action`` on the selected record, or on every selected record that allows it.

        One record: asks first unless "Don't ask again" was ticked for this kind (always when
        the service refused it last time); returns the task when it started at once. Several
        selected rows: one question for all of them (:meth:`ask_bulk`). A second click while
        an action runs does nothing.
        """
        selected = self.selected_summaries()
        if len(selected) > 1 and action in BULK_ACTIONS:
            self.ask_bulk(action, selected)
            return None
        rec = self._record
        if rec is None or self.controller.refusal(rec, action) is not None:
            return None
        if action not in CHANGING:  # "Check at the service" only reads
            return self._start(action, rec, kwargs)
        failed = self.controller.last_failure(rec, action)
        if failed is None and not self._asks(action):
            return self._start(action, rec, kwargs)
        text = question(action, rec.summary(), money_locale())
        if failed is not None:
            words = ACTION_WORDS[action]
            text = f"The last {words} for it did not go through: {failed}\n\n{text}"
        self._confirm(
            f"{ACTION_WORDS[action]}?",
            text,
            ACTIONS[ActionName(action)].lower,
            partial(self._confirmed, action, record_key(rec.summary()), kwargs),
            remember=action if failed is None else None,
            icon=QMessageBox.Icon.Question,
        )
        return None

    def _confirmed(self, action: str, key: Key, kwargs: dict[str, str]) -> None:
        """Staff said yes: run it on that record, if it still allows it (the list may have moved)."""
        rec = self.cache.get(*key)
        if rec is None:
            return
        reason = self.controller.refusal(rec, action)
        if reason is not None:
            self.message_bar.show_message("error", reason)
            return
        self._start(action, rec, kwargs)

    def _start(
        self, action: str, rec: Order | Invoice, kwargs: dict[str, str]
    ) -> asyncio.Task[ActionReport] | None:
        task = self.controller.run_action(action, rec.summary(), **kwargs)  # type: ignore[arg-type]
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
        from invoicedesk.ui.mark_sent_dialog import MarkSentDialog  # loads when first opened

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

    # ------------------------------------------------------------------ several records

    def ask_bulk(self, action: str, selected: list[Summary]) -> None:
        """One question for every selected record: what will be done, what is skipped and why."""
        candidates: list[tuple[Summary, str | None]] = []
        for s in selected:
            rec = self.cache.get(*record_key(s))
            if rec is None:
                candidates.append((s, "no longer in the list"))
                continue
            reason = self.controller.refusal(rec, action)
            if reason is None and action == "invoice" and isinstance(rec, Order) and rec.unreadable_documents:
                # One at a time: staff look at the documents and confirm (the single action asks).
                reason = needs_label("check_documents")
            candidates.append((s, reason))  # s: the list's record, with its needs-action
        self._ask_plan(make_plan(action, candidates))

    def ask_invoice_all_pending(self) -> None:
        """Every paid order that still needs an invoice (as ``invoice --all-pending`` picks
        them), after one question naming the ones it will not send and why."""
        config: Config = self.services.config  # type: ignore[attr-defined]
        configured = {a.name for a in config.jumpseller}
        candidates: list[tuple[Summary, str | None]] = []
        query = Query(source="jumpseller", needs_action=True)
        for row in self.cache.iter_all(query, sort="id", descending=False):
            s = row.summary
            if s.needs_action in INVOICE_OWED:
                candidates.append((s, self._pending_refusal(s, configured)))
            elif s.needs_action in PENDING_SKIPPED:
                candidates.append((s, needs_label(s.needs_action)))
        self._ask_plan(make_plan("invoice", candidates, scope="pending"))

    def _pending_refusal(self, s: Summary, configured: set[str]) -> str | None:
        """The account-wide reasons (cheap, no record read); each record's own rules run
        again when its turn comes, in ``Actions``."""
        if s.account not in configured:
            return "its account is no longer configured"
        if self.controller.is_busy(record_key(s)):
            return "an action is running on it"
        st = self.controller.state(s.account)
        if st is not None and st.online is False:
            return f"{s.account} cannot be reached now"
        return None

    def _ask_plan(self, plan: BulkPlan) -> None:
        text = confirmation_text(plan, money_locale())
        if not plan.todo:
            self.message_bar.show_message("info", text)
            return
        if self.bulk_runner is not None:
            self.message_bar.show_message("error", "An action is running on several records; wait for it.")
            return
        self._confirm(
            f"{headline(plan)}?",
            text,
            headline(plan),
            partial(self.start_bulk, plan),
            icon=QMessageBox.Icon.Question,
        )

    def start_bulk(self, plan: BulkPlan) -> BulkRunner | None:
        """Run ``plan`` with a progress dialog; its Cancel stops before the next record."""
        if self.bulk_runner is not None or not plan.todo:
            return None
        runner = BulkRunner(self.controller, plan, self)  # type: ignore[arg-type]
        dialog = QProgressDialog(f"{headline(plan)}…", "Cancel", 0, len(plan.todo), self)  # type: ignore[arg-type]
        dialog.setObjectName("bulkProgress")
        dialog.setWindowTitle(headline(plan))
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.disconnect()  # Cancel must not hide or reset it: the record being sent finishes
        dialog.canceled.connect(partial(self._cancel_bulk, runner))
        runner.progressed.connect(self._on_bulk_progress)
        runner.finished.connect(self._on_bulk_finished)
        self.bulk_runner = runner
        self.bulk_progress = dialog
        dialog.show()
        runner.start()
        self._update_actions()
        return runner

    def cancel_bulk(self) -> None:
        if self.bulk_runner is not None:
            self._cancel_bulk(self.bulk_runner)

    def _cancel_bulk(self, runner: BulkRunner) -> None:
        runner.cancel()
        if self.bulk_progress is not None:
            self.bulk_progress.setLabelText("Stopping after the record being sent now…")
            button = self.bulk_progress.findChild(QPushButton)
            if button is not None:
                button.setEnabled(False)

    def _on_bulk_progress(self, done: int, total: int, text: str) -> None:
        if self.bulk_progress is not None:
            self.bulk_progress.setValue(done)
            if text and not (self.bulk_runner is not None and self.bulk_runner.cancelled):
                self.bulk_progress.setLabelText(text)
        if text:
            self.statusBar().showMessage(text)

    def _on_bulk_finished(self, result: BulkResult) -> None:
        runner, dialog = self.bulk_runner, self.bulk_progress
        self.bulk_runner = None
        self.bulk_progress = None
        if dialog is not None:
            dialog.close()
            dialog.deleteLater()
        if runner is not None:
            runner.deleteLater()
        self.statusBar().clearMessage()
        self.message_bar.show_message("success" if result.ok else "error", result_text(result))
        self._update_actions()

    # ------------------------------------------------------------------ outcomes

    def _on_action_finished(self, report: ActionReport) -> None:
        if self.bulk_runner is not None and report.key in self.bulk_runner.keys:
            self._update_actions()  # one of many: the summary at the end says how it went
            return
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

