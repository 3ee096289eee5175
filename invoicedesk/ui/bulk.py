"""One action over many records, one record at a time, each through the controller.

:class:`BulkRunner` walks a :class:`~invoicedesk.bulk_plan.BulkPlan`: every record goes
through ``Controller.run_action`` and so through ``Actions`` and the journal's claim, exactly
as a single click would; nothing here sends a request itself. Cancel stops before the next
record, never in the middle of one (a request cut off half-way leaves an unknown outcome).
Progress and the end come back by signal, so the window shows them without awaiting.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject, Signal

from invoicedesk.bulk_plan import BulkPlan, BulkResult, headline
from invoicedesk.domain import Source, Summary
from invoicedesk.ui.controller import ActionReport, Controller
from invoicedesk.ui.records_model import Key, record_key


def _noun(summary: Summary) -> str:
    return "order" if summary.source is Source.JUMPSELLER else "invoice"


def _why(summary: Summary, report: ActionReport) -> str:
    """The report's message without the "<action> for order 1305:" the summary already says."""
    text = report.message
    marker = f"for {_noun(summary)} {summary.id}: "
    if marker in text:
        text = text.split(marker, 1)[1]
    return text.removesuffix(" Nothing was changed.").strip()


class BulkRunner(QObject):
    """Runs ``plan`` record after record; ``cancel()`` stops before the next one."""

    progressed = Signal(int, int, str)  # records finished, records planned, what runs now
    finished = Signal(object)  # BulkResult

    def __init__(self, controller: Controller, plan: BulkPlan, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.plan = plan
        self.keys: set[Key] = {record_key(s) for s in plan.todo}
        self.result = BulkResult(plan.action, len(plan.todo))
        self.task: asyncio.Task[BulkResult] | None = None
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self) -> asyncio.Task[BulkResult]:
        if self.task is None:
            self.task = self.controller.spawn(self._run())
        return self.task

    def cancel(self) -> None:
        """Stop before the next record; the one being sent finishes and is counted."""
        self._cancelled = True

    async def _run(self) -> BulkResult:
        plan, result = self.plan, self.result
        total = len(plan.todo)
        try:
            for i, summary in enumerate(plan.todo):
                if self._cancelled:
                    result.cancelled = True
                    result.not_started = list(plan.todo[i:])
                    break
                self.progressed.emit(
                    i, total, f"{headline(plan)}: {i + 1:,} of {total:,}, {_noun(summary)} {summary.id}…"
                )
                if not await self._one(summary):  # the window is closing: start nothing more
                    result.cancelled = True
                    result.not_started = list(plan.todo[i:])
                    break
            self.progressed.emit(result.finished, total, "")
        finally:
            self.finished.emit(result)
        return result

    async def _one(self, summary: Summary) -> bool:
        """Run one record and count how it ended; ``False`` when it could not even start."""
        result = self.result
        task = self.controller.run_action(self.plan.action, summary)  # type: ignore[arg-type]
        if task is None:
            if not self.controller.is_busy(record_key(summary)):
                return False
            result.failed.append((summary, "another action was running on it"))
            return True
        report = await task
        state = report.outcome.state if report.outcome is not None else ""
        if report.kind == "success":
            result.done.append(summary)
        elif state == "already_done":
            result.already.append(summary)
        elif self._unknown(summary):
            result.unknown.append((summary, _why(summary, report)))
        else:
            result.failed.append((summary, _why(summary, report)))
        return True

    def _unknown(self, summary: Summary) -> bool:
        record = self.controller.cache.get(*record_key(summary))
        return record is not None and self.controller.unknown_outcome(record) is not None
