"""What each record is waiting for: the "needs action" column and filter.

Stored as a short code (stable for the command line's JSON and for filters); ``label()`` gives
the words staff read.
"""

from __future__ import annotations

from invoicedesk.action_table import ACTIONS, ActionName
from invoicedesk.domain import Invoice, Order

LABELS: dict[str, str] = {
    "invoice": "Create invoice",
    "check_documents": "Check attached documents",
    "not_checked": "Invoice not checked yet",
    "credit_note": "Credit note owed",
    "mark_sent": ACTIONS[ActionName.MARK_SENT].lower,
    "mark_ready": ACTIONS[ActionName.MARK_READY].lower,
    "mark_collected": ACTIONS[ActionName.MARK_COLLECTED].lower,
    "outcome_unknown": "Outcome unknown: check, then retry",
    "resume": "Unfinished: resumes on next sync",
}


def label(code: str) -> str:
    return LABELS.get(code, code)


def needs_action(
    record: Order | Invoice, open_action: str | None = None, *, documents_known: bool = True
) -> str:
    """The code of the next step for this record, or "" when nothing is owed.

    ``open_action`` is ``"<action>:<state>"`` of an unfinished journal entry for the record:
    an action whose outcome is unknown outranks everything (staff must look before retrying).
    """
    if open_action:
        _action, _, state = open_action.partition(":")
        return "outcome_unknown" if state == "unknown" else "resume"
    if isinstance(record, Order):
        if record.status == "paid" and not record.is_invoiced and not documents_known:
            return "not_checked"  # its documents were not read yet: it may well have an invoice
        if record.status == "paid" and not record.is_invoiced:
            # A document whose type can't be read may be an invoice: staff look first.
            return "check_documents" if record.unreadable_documents else "invoice"
        if record.status == "canceled" and record.is_invoiced:
            return "credit_note"
        return ""
    if record.can_mark_sent:
        return "mark_sent"
    if record.can_mark_ready:
        return "mark_ready"
    if record.can_mark_collected:
        return "mark_collected"
    return ""
